import { Controller, Delete, Headers, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
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
import { BOARD_COOKIE, BOARD_SESSION_TTL_SECONDS, QueueBoardSessions } from './queue-board.sessions';
import { cookieValue } from '../../platform/http/cookies';

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
  @ApiOperation({
    summary: 'Close Bull Board browser sessions',
    description:
      'Clears the cookie. With an admin Bearer token, every board session that admin opened so far is revoked on the ' +
      'server; a browser holding only the cookie closes its session with DELETE /admin/queues/session instead ' +
      '(the cookie is scoped to /admin/queues, so it does not reach this path).',
  })
  @ApiNoContentResponse()
  async close(
    @CurrentUser() user: AuthenticatedUser | undefined,
    @Headers('cookie') cookies: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const session = cookieValue(cookies, BOARD_COOKIE);
    if (session) {
      await this.sessions.revoke(session);
    }
    if (user?.role === 'admin') {
      await this.sessions.revokeAllOf(user.id);
    }
    void reply.header('set-cookie', this.sessions.clearedCookie());
  }
}
