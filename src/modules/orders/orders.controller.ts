import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { API_PREFIX } from '../../platform/http/configure-http';
import { BadRequestError } from '../../platform/http/domain-error';
import { BusinessMetrics } from '../../platform/metrics/business-metrics';
import { currentContext, enrichContext } from '../../platform/http/request-context';
import { AuthenticatedUser, CurrentUser } from '../auth/auth.decorators';
import { ListOrdersQuery } from './dto/list-orders.query';
import { PlaceOrderDto } from './dto/place-order.dto';
import { parseIdempotencyKey } from './idempotency';
import { OrderEventsStream } from './order-events.stream';
import { Page } from '../../platform/http/pagination';
import { Roles } from '../../platform/http/access.decorators';
import { OrderStatus } from './order-status';
import {
  OrderDetail,
  OrderListItem,
  OrderQueries,
  OrderStatusView,
  StatusChangeRecord,
} from './order.queries';
import { PlacedOrder, PlaceOrderCommand } from './place-order.command';

@ApiTags('orders')
@ApiBearerAuth()
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly placeOrder: PlaceOrderCommand,
    private readonly queries: OrderQueries,
    private readonly events: OrderEventsStream,
    private readonly metrics: BusinessMetrics,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Place an order: accepted at once, processed in the background' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Up to 255 characters; a retry with the same key and body returns the first response',
  })
  @ApiAcceptedResponse({
    description:
      'Accepted: {id, status: PENDING, totalAmount, currency, items, createdAt}; Location names the order',
  })
  @ApiUnprocessableEntityResponse({
    description: 'Unknown or inactive products, or an Idempotency-Key reused with another body',
  })
  @ApiConflictResponse({ description: 'A request with the same Idempotency-Key is still in flight' })
  async place(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: PlaceOrderDto,
    @Headers('idempotency-key') idempotencyKeyHeader: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PlacedOrder> {
    const key = parseIdempotencyKey(idempotencyKeyHeader);
    const { order, replayed } = await this.placeOrder.execute(
      user.id,
      dto,
      key,
      currentContext()?.correlationId,
    );
    enrichContext({ orderId: order.id });
    void reply.header('location', `/${API_PREFIX}/orders/${order.id}`);
    if (replayed) {
      void reply.header('idempotent-replayed', 'true');
      this.metrics.idempotentReplays.inc();
    } else {
      this.metrics.ordersCreated.inc();
    }
    return order;
  }

  @Get()
  @ApiOperation({
    summary: 'Orders, newest first: your own, or everyone’s for an admin',
    description:
      'Filters combine: status, id, customer email (contains), placed from–to, total amount range.',
  })
  list(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: ListOrdersQuery,
  ): Promise<Page<OrderListItem>> {
    return this.queries.list(user, query);
  }

  @Get('counts')
  @Roles('admin')
  @ApiOperation({ summary: 'How many orders are in each status (admin)' })
  @ApiOkResponse({ description: '{counts: {PENDING: n, ...}, total}' })
  async counts(): Promise<{ counts: Record<OrderStatus, number>; total: number }> {
    const counts = await this.queries.countByStatus();
    return { counts, total: Object.values(counts).reduce((sum, n) => sum + n, 0) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One order with its lines (owner or admin; 404 for anyone else)' })
  @ApiNotFoundResponse({ description: 'No such order, or not yours' })
  get(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<OrderDetail> {
    return this.queries.get(user, id);
  }

  @Get(':id/status')
  @ApiOperation({ summary: 'The order’s status and, when it failed, why' })
  @ApiOkResponse({ description: '{id, status, failureReason?, updatedAt}' })
  status(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<OrderStatusView> {
    return this.queries.status(user, id);
  }

  @Get(':id/history')
  @ApiOperation({ summary: 'The order’s status changes, oldest first (owner or admin)' })
  @ApiOkResponse({ description: '[{id, from, status, reason, at}]' })
  @ApiNotFoundResponse({ description: 'No such order, or not yours' })
  history(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<StatusChangeRecord[]> {
    return this.queries.history(user, id);
  }

  @Get(':id/events')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Server-Sent Events: the whole status history, then live changes; ends at a final status (CANCELLED, PAYMENT_FAILED, REFUNDED); Last-Event-ID resumes',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  async stream(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const resumeAfter = parseLastEventId(lastEventId);
    await this.queries.assertVisible(user, id);
    await this.events.open(id, reply, resumeAfter);
  }
}

const MAX_EVENT_ID = 2n ** 63n - 1n;

/**
 * Event ids are the history table's bigint ids. Anything else could only be made up, and one past the
 * bigint range made every catch-up query of the stream fail (logged every 3 s): refuse it before streaming.
 */
export function parseLastEventId(header: string | undefined): string | undefined {
  const value = header?.trim();
  if (value === undefined || value === '') {
    return undefined;
  }
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > MAX_EVENT_ID) {
    throw new BadRequestError(
      `Last-Event-ID must be the id of an event this stream sent (an integer from 0 to ${MAX_EVENT_ID}).`,
      [{ field: 'Last-Event-ID', message: 'must be an integer from 0 to 9223372036854775807' }],
    );
  }
  return value;
}
