import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { NotFoundError } from '../../platform/http/domain-error';
import { Page } from '../../platform/http/pagination';
import { DeadLetter, DeadLetterStore } from '../../platform/queue/dead-letter.store';
import { DeadLetterService } from '../../platform/queue/dead-letter.service';
import { AuthenticatedUser, CurrentUser } from '../auth/auth.decorators';
import { Roles } from '../../platform/http/access.decorators';
import {
  DeadLetterDto,
  DiscardDeadLetterQueryDto,
  ListDeadLettersQueryDto,
  ReplayDeadLetterDto,
} from './dead-letter.dto';

@ApiTags('admin')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Roles('admin')
@Controller('admin/dead-letters')
export class DeadLettersController {
  constructor(
    private readonly store: DeadLetterStore,
    private readonly service: DeadLetterService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Jobs that exhausted their attempts or failed permanently, newest first' })
  @ApiOkResponse({ description: 'A page of dead letters' })
  async list(@Query() query: ListDeadLettersQueryDto): Promise<Page<DeadLetter>> {
    return this.store.list({
      queue: query.queue,
      failureReason: query.reason,
      status: query.status,
      page: query.page,
      limit: query.limit,
      cursor: query.cursor,
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One dead letter' })
  @ApiOkResponse({ type: DeadLetterDto })
  @ApiNotFoundResponse()
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<DeadLetter> {
    const letter = await this.store.find(id);
    if (!letter) {
      throw new NotFoundError(`Dead letter ${id} does not exist.`);
    }
    return letter;
  }

  @Post(':id/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Re-enqueue an open dead letter (optionally with corrected job data) under a new job id',
  })
  @ApiAcceptedResponse({ type: DeadLetterDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Already replayed or discarded (code DEAD_LETTER_NOT_OPEN)' })
  @ApiServiceUnavailableResponse({ description: 'Redis unreachable; nothing changed' })
  replay(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: ReplayDeadLetterDto,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<DeadLetter> {
    return this.service.replay(id, user.id, body.payload);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Discard an open dead letter (kept as DISCARDED, with an audit record)' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Already replayed or discarded' })
  async discard(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: DiscardDeadLetterQueryDto,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<void> {
    await this.service.discard(id, user.id, query.reason);
  }
}
