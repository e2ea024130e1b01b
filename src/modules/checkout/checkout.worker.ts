import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isDependencyUnavailable } from '../../platform/dependency-errors';
import { BatchHandOff } from '../../platform/queue/batch-hand-off';
import { JobInfo, OutboxBatchJobData, OutboxJobData } from '../../platform/queue/job-data';
import { JobHandler } from '../../platform/queue/job-handler.decorator';
import { PermanentJobError, RetryLaterError } from '../../platform/queue/job-errors';
import { JOBS, QUEUES } from '../../platform/queue/queue-names';
import { OutboxWriter } from '../../platform/outbox/outbox.writer';
import { inOrderTrace } from '../../platform/tracing/trace-context';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { NothingToRefundError, PaymentGatewayUnavailableError } from '../payments/payment.errors';
import { PaymentsService } from '../payments/payments.service';
import { SagaRepository } from './saga.repository';
import { SagaOrder } from './saga.types';
import { SagaRunner } from './saga.runner';

type SagaTrigger = OutboxJobData<
  'OrderCreated' | 'PaymentProcessed' | 'RefundProcessed' | 'OrderCancellationRequested'
>;

const SETTLED_SAGA = ['COMPENSATING', 'COMPENSATED', 'NEEDS_ATTENTION'];

/**
 * The saga's queue handlers. They translate a job into a call and decide nothing: the runner knows
 * which step comes next; the payments service knows how to charge once.
 */
@Injectable()
export class CheckoutWorker {
  private readonly logger = new Logger(CheckoutWorker.name);

  constructor(
    private readonly runner: SagaRunner,
    private readonly sagas: SagaRepository,
    private readonly payments: PaymentsService,
    private readonly outbox: OutboxWriter,
    private readonly dataSource: DataSource,
    private readonly batches: BatchHandOff,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @JobHandler(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSaga)
  async advanceSaga(data: SagaTrigger, job?: JobInfo): Promise<void> {
    await this.runner.advance(data.payload.orderId, {
      fresh: data.eventType === 'OrderCreated',
      progress: job?.progress,
    });
  }

  /** Several orders' sagas in one go; an order that fails even on its own becomes an advance-saga job. */
  @JobHandler(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSagaBatch)
  async advanceSagaBatch(data: OutboxBatchJobData<SagaTrigger['eventType']>, job?: JobInfo): Promise<void> {
    const { events } = data;
    const failures = await this.runner.advanceMany(
      events.map((e) => e.payload.orderId),
      { fresh: events.every((e) => e.eventType === 'OrderCreated'), progress: job?.progress },
    );
    const failed = new Map(failures.map((f) => [f.orderId, f.error]));
    await this.batches.handOff(
      QUEUES.orderProcessing,
      JOBS[QUEUES.orderProcessing].advanceSaga,
      events.filter((e) => failed.has(e.payload.orderId)),
      new Map(events.map((e) => [e.eventId, failed.get(e.payload.orderId)])),
    );
  }

  /**
   * Charges several orders, each once (its own idempotency key), at most PAYMENT_CONCURRENCY gateway
   * calls at a time, then moves the answered ones on in one saga batch. An order whose charge or saga
   * fails becomes a charge-payment job of its own (retries, circuit waits and dead letter as ever).
   */
  @JobHandler(QUEUES.paymentProcessing, JOBS[QUEUES.paymentProcessing].chargePaymentBatch)
  async chargePaymentBatch(data: OutboxBatchJobData<'PaymentRequested'>, job?: JobInfo): Promise<void> {
    const { events } = data;
    let charged = 0;
    // Once per order in memory; the worker writes at most one of these per QUEUE_PROGRESS_INTERVAL_MS.
    const reportCharged = () => job?.progress({ step: 'charging', orders: events.length, done: charged });
    reportCharged();
    const orders = new Map(
      (
        await this.sagas.loadOrders(
          this.dataSource.manager,
          events.map((e) => e.payload.orderId),
        )
      ).map((o) => [o.id, o]),
    );
    const errors = new Map<string, unknown>();
    const answered: string[] = [];
    await eachLimited(events, this.config.queue.concurrency.paymentProcessing, async (event) => {
      const order = orders.get(event.payload.orderId);
      try {
        if (!order) {
          throw new PermanentJobError(`order ${event.payload.orderId} does not exist`, 'ORDER_NOT_FOUND');
        }
        // Each order's gateway call goes in its own trace, not the batch's.
        if (await inOrderTrace(order.id, () => this.charge(order))) {
          answered.push(order.id);
        }
      } catch (error) {
        errors.set(event.eventId, error);
      }
      charged += 1;
      reportCharged();
    });
    for (const failure of await this.runner.advanceMany(answered, { progress: job?.progress })) {
      const event = events.find((e) => e.payload.orderId === failure.orderId);
      if (event) {
        errors.set(event.eventId, failure.error);
      }
    }
    await this.batches.handOff(
      QUEUES.paymentProcessing,
      JOBS[QUEUES.paymentProcessing].chargePayment,
      events.filter((e) => errors.has(e.eventId)),
      errors,
    );
  }

  /**
   * Charges once per order (the payment's idempotency key), then moves the saga on itself: the answer
   * is in the payments table, so the saga's next transaction can read it now instead of an outbox event,
   * a relay hop and another job later. A crash in between is what recovery is for: a saga waiting on a
   * charge that has an answer is resumed after SAGA_STALL_SECONDS. Asynchronous settlements (the
   * gateway's webhook) still announce themselves with PaymentProcessed.
   */
  @JobHandler(QUEUES.paymentProcessing, JOBS[QUEUES.paymentProcessing].chargePayment)
  async chargePayment(data: OutboxJobData<'PaymentRequested'>, job?: JobInfo): Promise<void> {
    const { orderId } = data.payload;
    job?.progress({ step: 'charging', orders: 1, done: 0 });
    const order = await this.sagas.loadOrder(this.dataSource.manager, orderId);
    if (!order) {
      throw new PermanentJobError(`order ${orderId} does not exist`, 'ORDER_NOT_FOUND');
    }
    const answered = await this.charge(order).catch((error: unknown) => {
      throw this.laterIfCircuitOpen(error);
    });
    if (answered) {
      await this.runner.advance(orderId, { progress: job?.progress });
    }
  }

  /** Charges the order once; true when the charge has its answer (the saga can read it now). */
  private async charge(order: SagaOrder): Promise<boolean> {
    const { sagaStatus, id: orderId } = order;
    if (sagaStatus && SETTLED_SAGA.includes(sagaStatus) && !(await this.hasChargeInDoubt(orderId))) {
      // The order is being undone: charging now would only mean refunding later. A charge already
      // attempted without an answer is different: it is asked again to learn whether money was taken.
      this.logger.log({ orderId, sagaStatus }, 'charge skipped: the saga is compensating');
      return false;
    }
    const payment = await this.payments.chargeOrder(order);
    // PENDING: a bank transfer, which the gateway's webhook will settle (writing PaymentProcessed).
    return payment.status !== 'PENDING';
  }

  /**
   * An open circuit is an outage with an end: the job waits about the breaker's reset time (jittered, so
   * the waiting jobs do not all return at once) without spending an attempt, instead of exhausting its
   * retries within seconds and landing in the dead letters (or, for a refund, parking the saga).
   */
  private laterIfCircuitOpen(error: unknown): unknown {
    if (!(error instanceof PaymentGatewayUnavailableError)) {
      return error;
    }
    // A pacer that would have to hold the call too long says when to come back; an open circuit does not.
    const delayMs = error.retryAfterMs ?? this.config.payment.breaker.resetTimeoutMs;
    return new RetryLaterError(error.message, Math.round(delayMs * (1 + Math.random() * 0.2)));
  }

  private async hasChargeInDoubt(orderId: string): Promise<boolean> {
    const payments = await this.payments.getPaymentsForOrder(orderId);
    return payments.some(
      (p) => p.kind === 'CHARGE' && p.status === 'PENDING' && p.providerReference === null,
    );
  }

  /**
   * A compensation's refund. Declined, or still failing on its last attempt, it parks the saga as
   * NEEDS_ATTENTION; the job then lands in the dead letters, whose replay resumes it.
   */
  @JobHandler(QUEUES.paymentProcessing, JOBS[QUEUES.paymentProcessing].refundPayment)
  async refundPayment(data: OutboxJobData<'RefundRequested'>, job: JobInfo): Promise<void> {
    const { orderId } = data.payload;
    let status: 'SUCCEEDED' | 'FAILED' | 'NOTHING_TO_REFUND';
    try {
      const outcome = await this.payments.refundOrder(orderId, { idempotencyKey: `refund:${orderId}:saga` });
      status = outcome.refund.status === 'FAILED' ? 'FAILED' : 'SUCCEEDED';
      if (outcome.refund.status === 'FAILED') {
        await this.runner.markNeedsAttention(
          orderId,
          `refund declined: ${outcome.refund.failureCode ?? 'unknown'}`,
        );
        throw new PermanentJobError(`the gateway declined the refund of order ${orderId}`, 'REFUND_DECLINED');
      }
    } catch (error) {
      if (error instanceof NothingToRefundError) {
        status = 'NOTHING_TO_REFUND';
      } else if (error instanceof PaymentGatewayUnavailableError) {
        throw this.laterIfCircuitOpen(error);
      } else {
        const outage = isDependencyUnavailable(error); // put back without spending the attempt
        if (!(error instanceof PermanentJobError) && !outage && job.attemptsMade + 1 >= job.attempts) {
          await this.runner.markNeedsAttention(orderId, `refund kept failing: ${(error as Error).message}`);
        }
        throw error;
      }
    }
    await this.dataSource.transaction((tx) =>
      this.outbox.append(tx, {
        type: 'RefundProcessed',
        aggregateType: 'order',
        aggregateId: orderId,
        payload: { orderId, status },
      }),
    );
  }
}

/** Runs `work` for every item, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      await work(items[next++]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
