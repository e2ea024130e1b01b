import { BulkJobOptions } from 'bullmq';
import { JobNameOf } from '../queue/job-handler.decorator';
import { JOBS, QUEUES, QueueName } from '../queue/queue-names';
import { DomainEventType } from './domain-events';

export interface OutboxRoute<Q extends QueueName = QueueName> {
  queue: Q;
  job: JobNameOf<Q>;
  /** On top of the queue's default job options (queue-options.ts); never `jobId`, the relay sets it. */
  options?: Omit<BulkJobOptions, 'jobId'>;
}

const route = <Q extends QueueName>(
  queue: Q,
  job: JobNameOf<Q>,
  options?: OutboxRoute<Q>['options'],
): OutboxRoute => ({ queue, job, options }) as OutboxRoute;

/**
 * Which queue and job each outbox event becomes: the one routing table. An event without a route has
 * no consumer (yet) and is simply marked processed; it stays in the outbox for audit and replay.
 */
export const OUTBOX_ROUTES: { [T in DomainEventType]?: OutboxRoute } = {
  OrderCreated: route(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSaga),
  PaymentProcessed: route(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSaga),
  PaymentRequested: route(QUEUES.paymentProcessing, JOBS[QUEUES.paymentProcessing].chargePayment),
  NotificationRequested: route(QUEUES.notificationSending, JOBS[QUEUES.notificationSending].sendNotification),
};
