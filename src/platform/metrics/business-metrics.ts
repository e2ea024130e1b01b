import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from './metrics.service';

// An order's submit→final time is dominated by the payment gateway (0.1–2 s) and queue retries.
const ORDER_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 120, 300, 600];
const SAGA_STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The order-journey metrics, defined in one place so their names and labels never drift; the code
 * where each thing happens increments them. Labels carry statuses, steps and outcomes, never ids.
 * Payments, notifications, cache, reservations and the outbox define theirs in their own modules.
 */
@Injectable()
export class BusinessMetrics {
  readonly ordersCreated: Counter;
  /** `status`: the final order status (CONFIRMED, CANCELLED, PAYMENT_FAILED...). */
  readonly ordersFinished: Counter<'status'>;
  /** From POST /orders accepted to the final status, by that status. */
  readonly orderDuration: Histogram<'status'>;
  /** `step`: the saga step name; `outcome`: succeeded, failed, retried or compensated. */
  readonly sagaStepDuration: Histogram<'step' | 'outcome'>;
  readonly sagaCompensations: Counter<'step'>;
  readonly idempotentReplays: Counter;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.ordersCreated = new Counter({
      name: 'aop_orders_created_total',
      help: 'Orders accepted by POST /orders (idempotent replays not included).',
      registers,
    });
    this.ordersFinished = new Counter({
      name: 'aop_orders_finished_total',
      help: 'Orders that reached a final status, by that status.',
      labelNames: ['status'] as const,
      registers,
    });
    this.orderDuration = new Histogram({
      name: 'aop_order_duration_seconds',
      help: 'Time from an order being accepted to its final status, by that status.',
      labelNames: ['status'] as const,
      buckets: ORDER_DURATION_BUCKETS,
      registers,
    });
    this.sagaStepDuration = new Histogram({
      name: 'aop_saga_step_duration_seconds',
      help: 'Duration of one saga step attempt, by step and outcome.',
      labelNames: ['step', 'outcome'] as const,
      buckets: SAGA_STEP_BUCKETS,
      registers,
    });
    this.sagaCompensations = new Counter({
      name: 'aop_saga_compensations_total',
      help: 'Saga compensations run, by the step being undone.',
      labelNames: ['step'] as const,
      registers,
    });
    this.idempotentReplays = new Counter({
      name: 'aop_idempotent_replays_total',
      help: 'Requests answered from a stored idempotent response instead of being executed again.',
      registers,
    });
  }
}
