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
  /**
   * Events of this route claimed together travel as one job of this name (up to SAGA_BATCH_SIZE
   * events, see OutboxBatchJobData); an event claimed alone is still the `job` above.
   */
  batchJob?: JobNameOf<Q>;
}

const route = <Q extends QueueName>(
  queue: Q,
  job: JobNameOf<Q>,
  options?: RouteOptions,
  optionsFor?: (payload: never) => RouteOptions,
  batchJob?: JobNameOf<Q>,
): OutboxRoute => ({ queue, job, options, optionsFor, batchJob }) as OutboxRoute;

/** The saga's triggers: several orders' events in one job, advanced together (checkout.worker.ts). */
const sagaRoute = () =>
  route(
    QUEUES.orderProcessing,
    JOBS[QUEUES.orderProcessing].advanceSaga,
    undefined,
    undefined,
    JOBS[QUEUES.orderProcessing].advanceSagaBatch,
  );

/** Outbound webhooks: the event becomes one delivery row per subscribed endpoint (modules/webhooks). */
const webhookFanOutRoute = () =>
  route(
    QUEUES.webhookFanOut,
    JOBS[QUEUES.webhookFanOut].fanOut,
    undefined,
    undefined,
    JOBS[QUEUES.webhookFanOut].fanOutBatch,
  );

/**
 * Which queue and job each outbox event becomes: the one routing table. An event without a route has
 * no consumer (yet) and is simply marked processed; it stays in the outbox for audit and replay.
 */
export const OUTBOX_ROUTES: { [T in DomainEventType]?: OutboxRoute } = {
  OrderCreated: sagaRoute(),
  PaymentProcessed: sagaRoute(),
  PaymentRequested: route(
    QUEUES.paymentProcessing,
    JOBS[QUEUES.paymentProcessing].chargePayment,
    undefined,
    undefined,
    JOBS[QUEUES.paymentProcessing].chargePaymentBatch,
  ),
  // Critical messages (order confirmation, payment failure) are served before marketing ones.
  NotificationRequested: route(
    QUEUES.notificationSending,
    JOBS[QUEUES.notificationSending].sendNotification,
    undefined,
    (payload: DomainEventPayloads['NotificationRequested']) => ({
      priority: notificationJobPriority(payload.priority ?? 'critical'),
    }),
  ),
  OrderCancellationRequested: sagaRoute(),
  RefundRequested: route(QUEUES.paymentProcessing, JOBS[QUEUES.paymentProcessing].refundPayment),
  RefundProcessed: sagaRoute(),
  UserRegistered: route(QUEUES.notificationSending, JOBS[QUEUES.notificationSending].sendWelcome),
  OrderStatusChanged: webhookFanOutRoute(),
};

/**
 * Consumers of an event besides its route above, each on a queue of its own (so the job id is the event
 * id there too). The event counts as published once every one of its jobs is enqueued.
 */
export const OUTBOX_ALSO_ROUTES: { [T in DomainEventType]?: readonly OutboxRoute[] } = {
  OrderCreated: [webhookFanOutRoute()],
};

/** Every route of an event type: its main one first, then the others. */
export function routesOf(eventType: DomainEventType): OutboxRoute[] {
  const main = OUTBOX_ROUTES[eventType];
  return [...(main ? [main] : []), ...(OUTBOX_ALSO_ROUTES[eventType] ?? [])];
}
