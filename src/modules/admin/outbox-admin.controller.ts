import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { BadRequestError } from '../../platform/http/domain-error';
import { offsetOf, Page, pageOf, PaginationQueryDto } from '../../platform/http/pagination';
import { OutboxReplayService } from '../../platform/outbox/outbox-replay.service';
import { OutboxStore, ParkedEvent } from '../../platform/outbox/outbox.store';
import { AuthenticatedUser, CurrentUser } from '../auth/auth.decorators';
import { Roles } from '../../platform/http/access.decorators';
import { ReplayOutboxDto, ReplayOutboxResultDto } from './outbox-replay.dto';

@ApiTags('admin')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Roles('admin')
@Controller('admin/outbox')
export class OutboxAdminController {
  constructor(
    private readonly replays: OutboxReplayService,
    private readonly store: OutboxStore,
  ) {}

  @Get('parked')
  @ApiOperation({ summary: 'Events parked after too many failed publications, oldest first' })
  @ApiOkResponse({
    description: 'A page of parked events (replay one with POST /admin/outbox/replay {eventId})',
  })
  async parked(@Query() query: PaginationQueryDto): Promise<Page<ParkedEvent>> {
    const { rows, total } = await this.store.listParked({
      limit: query.limit,
      offset: offsetOf(query.page, query.limit),
    });
    return pageOf(rows, query.page, query.limit, total);
  }

  @Post('replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Re-publish the events of one aggregate or a time window (recovery)',
    description:
      'Selected processed or parked events go back through the relay under new job ids (`<eventId>-replay-<n>`) ' +
      'with their event ids unchanged, so consumers that already handled an event skip it (inbox).',
  })
  @ApiAcceptedResponse({ type: ReplayOutboxResultDto })
  @ApiBadRequestResponse({
    description: 'Neither eventId, aggregateId nor a from–to window, or from after to',
  })
  async replay(
    @Body() body: ReplayOutboxDto,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<ReplayOutboxResultDto> {
    const from = body.from ? new Date(body.from) : undefined;
    const to = body.to ? new Date(body.to) : undefined;
    if (!body.eventId && !body.aggregateId && (!from || !to)) {
      throw new BadRequestError('Give an eventId, an aggregateId, or both from and to.');
    }
    if (from && to && from >= to) {
      throw new BadRequestError('from must be before to.');
    }
    const eventIds = await this.replays.replay(
      {
        eventId: body.eventId,
        aggregateId: body.aggregateId,
        from,
        to,
        eventType: body.eventType,
        limit: body.limit,
      },
      user.id,
    );
    return { scheduled: eventIds.length, eventIds };
  }
}
