import { Controller, Delete, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CurrentUser } from '../auth/auth.decorators';
import { Public, Roles } from '../../platform/http/access.decorators';
import { BOARD_SESSION_TTL_SECONDS, QueueBoardSessions } from './queue-board.sessions';

@ApiTags('admin')
@Controller('admin/queues/session')
export class QueueBoardSessionController {
  constructor(private readonly sessions: QueueBoardSessions) {}

  @Post()
  @Roles('admin')
  @ApiBearerAuth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Open a Bull Board browser session',
    description: `Sets an HttpOnly cookie (path /admin/queues, ${BOARD_SESSION_TTL_SECONDS / 60} minutes) so a browser can open /admin/queues.`,
  })
  @ApiNoContentResponse({ description: 'Cookie set' })
  @ApiUnauthorizedResponse()
  @ApiForbiddenResponse()
  open(@CurrentUser() user: AuthenticatedUser, @Res({ passthrough: true }) reply: FastifyReply): void {
    void reply.header('set-cookie', this.sessions.cookie(this.sessions.issue(user)));
    void reply.header('cache-control', 'no-store');
  }

  @Delete()
  @Public()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Close the Bull Board browser session (clears the cookie)' })
  @ApiNoContentResponse()
  close(@Res({ passthrough: true }) reply: FastifyReply): void {
    void reply.header('set-cookie', this.sessions.clearedCookie());
  }
}
