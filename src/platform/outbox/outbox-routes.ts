import { BulkJobOptions } from 'bullmq';
import { JobNameOf } from '../queue/job-handler.decorator';
import { JOBS, QUEUES, QueueName } from '../queue/queue-names';
import { notificationJobPriority } from '../queue/job-priority';
import { DomainEventPayloads, DomainEventType } from './domain-events';

type RouteOptions = Omit<BulkJobOptions, 'jobId'>;

export interface OutboxRoute<Q extends QueueName = QueueName> {
  queue: Q;
  job: JobNameOf<Q>;
  /** On top of the queue's default job options (queue-options.ts); never `jobId`, the relay sets it. */
  options?: RouteOptions;
  /** Options that depend on the event (a notification's priority, say). */
  optionsFor?: (payload: never) => RouteOptions;
}

const route = <Q extends QueueName>(
  queue: Q,
  job: JobNameOf<Q>,
  options?: RouteOptions,
  optionsFor?: (payload: never) => RouteOptions,
): OutboxRoute => ({ queue, job, options, optionsFor }) as OutboxRoute;

/**
 * Which queue and job each outbox event becomes: the one routing table. An event without a route has
 * no consumer (yet) and is simply marked processed; it stays in the outbox for audit and replay.
 */
export const OUTBOX_ROUTES: { [T in DomainEventType]?: OutboxRoute } = {
  OrderCreated: route(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSaga),
  PaymentProcessed: route(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSaga),
  PaymentRequested: route(QUEUES.paymentProcessing, JOBS[QUEUES.paymentProcessing].chargePayment),
  // Critical messages (order confirmation, payment failure) are served before marketing ones.
  NotificationRequested: route(
    QUEUES.notificationSending,
    JOBS[QUEUES.notificationSending].sendNotification,
    undefined,
    (payload: DomainEventPayloads['NotificationRequested']) => ({
      priority: notificationJobPriority(payload.priority ?? 'critical'),
    }),
  ),
  OrderCancellationRequested: route(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSaga),
  RefundRequested: route(QUEUES.paymentProcessing, JOBS[QUEUES.paymentProcessing].refundPayment),
  RefundProcessed: route(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSaga),
  UserRegistered: route(QUEUES.notificationSending, JOBS[QUEUES.notificationSending].sendWelcome),
};
