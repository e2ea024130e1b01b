import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { ReadReplicas } from '../../platform/database/read-replicas';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxWriter } from '../../platform/outbox/outbox.writer';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { NotificationsService } from '../notifications/notifications.service';
import { CancellationInProgressError, IllegalTransitionError, OrderStatus } from '../orders/order-status';
import { OrderStatusService, StatusChange } from '../orders/order-status.service';
import { OrderQueries, OrderStatusView } from '../orders/order.queries';
import { PaymentsService, RefundOutcome } from '../payments/payments.service';
import { orderNumberOf } from './checkout.saga';
import { SagaRepository } from './saga.repository';
import { SagaRunner } from './saga.runner';
import { SagaRecord, TimelineEntry } from './saga.types';

export interface SagaTimeline {
  orderId: string;
  status: SagaRecord['status'];
  currentStep: string | null;
  failureReason: string | null;
  compensation?: { reason: string; finalStatus: string; pending: string[] };
  startedAt: Date;
  updatedAt: Date;
  steps: TimelineEntry[];
  /** The order's trace (OpenTelemetry, tracing on): search for it in Jaeger or Tempo (docs/tracing.md). */
  traceId?: string;
  /** The trace in the configured viewer (TRACE_VIEW_URL set). */
  traceUrl?: string;
}

/** What people do to an order after it was placed: cancel it, ship, deliver, refund it; read its saga. */
@Injectable()
export class OrderActionsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly replicas: ReadReplicas,
    private readonly runner: SagaRunner,
    private readonly sagas: SagaRepository,
    private readonly statuses: OrderStatusService,
    private readonly queries: OrderQueries,
    private readonly payments: PaymentsService,
    private readonly notifications: NotificationsService,
    private readonly outbox: OutboxWriter,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Before shipping: starts the compensations (release, refund, restock); the order ends CANCELLED. */
  async cancel(viewer: AuthenticatedUser, orderId: string): Promise<OrderStatusView> {
    const current = await this.queries.status(viewer, orderId);
    const reason = viewer.role === 'admin' ? 'CANCELLED_BY_ADMIN' : 'CANCELLED_BY_CUSTOMER';
    const outcome = await this.dataSource.transaction(async (tx) => {
      const result = await this.runner.requestCompensation(tx, orderId, reason);
      if (result === 'started') {
        await this.outbox.append(tx, {
          type: 'OrderCancellationRequested',
          aggregateType: 'order',
          aggregateId: orderId,
          payload: { orderId, reason },
        });
      }
      return result;
    });
    if (outcome === 'refused') {
      throw new IllegalTransitionError(current.status, 'CANCELLED');
    }
    return this.queries.status(viewer, orderId);
  }

  async ship(admin: AuthenticatedUser, orderId: string, trackingNumber: string): Promise<OrderStatusView> {
    return this.move(
      admin,
      orderId,
      'SHIPPED',
      async (tx, order) => {
        await this.notifications.request(tx, {
          userId: order.userId,
          orderId,
          template: 'shipping-update',
          data: { orderNumber: orderNumberOf(orderId), trackingNumber },
          dedupeKey: `shipping-update:${orderId}:${trackingNumber}`,
        });
      },
      { trackingNumber, reason: 'SHIPPED' },
    );
  }

  async deliver(admin: AuthenticatedUser, orderId: string): Promise<OrderStatusView> {
    return this.move(admin, orderId, 'DELIVERED', undefined, { reason: 'DELIVERED' });
  }

  /**
   * Full or partial refund through the gateway; REFUNDED once everything captured went back. Refused
   * (409) while a cancellation is under way, like ship and deliver (docs/orders.md).
   */
  async refund(
    admin: AuthenticatedUser,
    orderId: string,
    amount?: string,
  ): Promise<{ order: OrderStatusView; refund: RefundOutcome }> {
    const current = await this.queries.status(admin, orderId);
    if (!['CONFIRMED', 'SHIPPED', 'DELIVERED'].includes(current.status)) {
      throw new IllegalTransitionError(current.status, 'REFUNDED');
    }
    // A cancellation in progress refunds (and restocks) on its own: an admin refund then would be a second one.
    await this.dataSource.transaction((tx) => this.statuses.assertNotBeingUndone(tx, orderId, 'REFUNDED'));
    const refund = await this.payments.refundOrder(orderId, { amount });
    if (refund.fullyRefunded) {
      try {
        const change = await this.dataSource.transaction((tx) =>
          this.statuses.transition(tx, orderId, 'REFUNDED', { reason: 'REFUNDED' }),
        );
        await this.statuses.publish(change);
      } catch (error) {
        // A cancellation accepted since the check above: the money is back, the order ends CANCELLED.
        if (!(error instanceof CancellationInProgressError)) {
          throw error;
        }
      }
    }
    return { order: await this.queries.status(admin, orderId), refund };
  }

  async timeline(viewer: AuthenticatedUser, orderId: string): Promise<SagaTimeline> {
    await this.queries.assertVisible(viewer, orderId);
    // The timeline tolerates staleness: a fresh replica answers when there is one.
    const saga = await this.sagas.find((await this.replicas.reader()).manager, orderId);
    if (!saga) {
      return {
        orderId,
        status: 'RUNNING',
        currentStep: null,
        failureReason: null,
        startedAt: new Date(),
        updatedAt: new Date(),
        steps: [],
      };
    }
    const compensation = saga.data.compensation;
    return {
      orderId,
      status: saga.status,
      currentStep: saga.currentStep,
      failureReason: saga.failureReason,
      ...(compensation
        ? {
            compensation: {
              reason: compensation.reason,
              finalStatus: compensation.finalStatus,
              pending: compensation.pending,
            },
          }
        : {}),
      startedAt: saga.startedAt,
      updatedAt: saga.updatedAt,
      steps: saga.history,
      ...traceOf(saga.data.traceContext?.traceparent, this.config.tracing.viewUrl),
    };
  }

  private async move(
    admin: AuthenticatedUser,
    orderId: string,
    to: OrderStatus,
    alongside: ((tx: EntityManager, order: { userId: string }) => Promise<void>) | undefined,
    options: { trackingNumber?: string; reason: string },
  ): Promise<OrderStatusView> {
    const current = await this.queries.get(admin, orderId);
    const change: StatusChange = await this.dataSource.transaction(async (tx) => {
      const moved = await this.statuses.transition(tx, orderId, to, { ...options, strict: true });
      if (moved.changed && alongside) {
        await alongside(tx, current);
      }
      return moved;
    });
    await this.statuses.publish(change);
    return this.queries.status(admin, orderId);
  }
}

/** The trace id of a W3C `traceparent`, and where to view it when a viewer is configured (TRACE_VIEW_URL). */
export function traceOf(
  traceparent: string | undefined,
  viewUrl: string | undefined,
): { traceId?: string; traceUrl?: string } {
  const traceId = traceparent?.split('-')[1];
  if (!traceId) {
    return {};
  }
  return viewUrl ? { traceId, traceUrl: viewUrl.split('{traceId}').join(traceId) } : { traceId };
}
