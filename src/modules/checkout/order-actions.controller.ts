import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser } from '../auth/auth.decorators';
import { Roles } from '../../platform/http/access.decorators';
import { OrderStatusView } from '../orders/order.queries';
import { RefundOutcome } from '../payments/payments.service';
import { RefundOrderDto, ShipOrderDto } from './dto/order-actions.dto';
import { OrderActionsService, SagaTimeline } from './order-actions.service';

@ApiTags('orders')
@ApiBearerAuth()
@Controller('orders')
export class OrderActionsController {
  constructor(private readonly actions: OrderActionsService) {}

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Cancel before shipping: compensation runs (release, refund, restock) and the order ends CANCELLED',
  })
  @ApiAcceptedResponse({ description: 'Cancellation started; follow it with /status, /events or /saga' })
  @ApiConflictResponse({ description: 'Shipped, delivered or already settled otherwise' })
  @ApiNotFoundResponse({ description: 'No such order, or not yours' })
  cancel(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<OrderStatusView> {
    return this.actions.cancel(user, id);
  }

  @Get(':id/saga')
  @ApiOperation({
    summary: 'The saga timeline: each step, its outcome, attempts, duration and compensations',
  })
  @ApiOkResponse({
    description:
      '{orderId, status, currentStep, failureReason, compensation?, steps[], traceId? (tracing on), traceUrl? (TRACE_VIEW_URL set)}',
  })
  saga(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<SagaTimeline> {
    return this.actions.timeline(user, id);
  }

  @Roles('admin')
  @Post(':id/ship')
  @HttpCode(200)
  @ApiOperation({ summary: 'CONFIRMED → SHIPPED with a tracking number; the customer is told (admin)' })
  @ApiConflictResponse({
    description: 'Illegal transition, or a cancellation in progress (CANCELLATION_IN_PROGRESS)',
  })
  ship(
    @CurrentUser() admin: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: ShipOrderDto,
  ): Promise<OrderStatusView> {
    return this.actions.ship(admin, id, dto.trackingNumber);
  }

  @Roles('admin')
  @Post(':id/deliver')
  @HttpCode(200)
  @ApiOperation({ summary: 'SHIPPED → DELIVERED (admin)' })
  @ApiConflictResponse({
    description: 'Illegal transition, or a cancellation in progress (CANCELLATION_IN_PROGRESS)',
  })
  deliver(
    @CurrentUser() admin: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<OrderStatusView> {
    return this.actions.deliver(admin, id);
  }

  @Roles('admin')
  @Post(':id/refund')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Full or partial refund through the gateway; REFUNDED when everything went back (admin)',
  })
  @ApiConflictResponse({
    description: 'Not refundable in this status, nothing left to refund, or a cancellation in progress',
  })
  refund(
    @CurrentUser() admin: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: RefundOrderDto,
  ): Promise<{ order: OrderStatusView; refund: RefundOutcome }> {
    return this.actions.refund(admin, id, dto.amount);
  }
}
