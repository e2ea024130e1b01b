import { Injectable } from '@nestjs/common';
import { BusinessMetrics } from '../../platform/metrics/business-metrics';
import { OrderStatusService, StatusChange } from '../orders/order-status.service';
import { SagaOrder } from './saga.types';

const FINAL: readonly string[] = ['CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED'];

/** After a saga transaction committed: tells live status streams, and counts the orders that finished. */
@Injectable()
export class SagaAnnouncer {
  constructor(
    private readonly statuses: OrderStatusService,
    private readonly metrics: BusinessMetrics,
  ) {}

  async announce(changes: readonly StatusChange[], orders: readonly SagaOrder[]): Promise<void> {
    // Sent together: the Redis client writes them in one go rather than one round trip each.
    await Promise.all(changes.map((change) => this.statuses.publish(change)));
    const createdAt = new Map(orders.map((o) => [o.id, new Date(o.createdAt).getTime()]));
    for (const change of changes.filter((c) => FINAL.includes(c.to))) {
      const created = createdAt.get(change.orderId);
      if (created === undefined) {
        continue;
      }
      this.metrics.ordersFinished.inc({ status: change.to });
      this.metrics.orderDuration.observe({ status: change.to }, (change.at.getTime() - created) / 1000);
    }
  }
}
