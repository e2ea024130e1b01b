import { DefaultJobOptions, RateLimiterOptions } from 'bullmq';
import { AppConfig } from '../../config/config';
import { JOBS, QUEUES, QueueName } from './queue-names';

/** Everything that shapes one queue: its jobs, the options every job gets, and how workers consume it. */
export interface QueueDefinition {
  name: string;
  jobs: readonly string[];
  jobOptions: DefaultJobOptions;
  worker: {
    concurrency: number;
    limiter?: RateLimiterOptions;
    lockDuration: number;
    stalledInterval: number;
    maxStalledCount: number;
  };
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * Finished jobs are kept long enough to see them in Bull Board and for a re-published job id to be
 * recognised as a duplicate (BullMQ ignores an add whose job id still exists); the inbox covers later ones.
 */
const KEEP_COMPLETED = { age: DAY, count: 10_000 };
const KEEP_FAILED = { age: 7 * DAY, count: 50_000 };

/** The one options table: attempts, backoff with jitter, retention, concurrency and rate limits per queue. */
export function queueDefinitions(config: Pick<AppConfig, 'queue' | 'webhooks'>): QueueDefinition[] {
  const q = config.queue;
  const jobs = (attempts: number): DefaultJobOptions => ({
    attempts,
    // Jitter spreads retries of jobs that failed together (say, a gateway outage) over time.
    backoff: { type: 'exponential', delay: q.backoffDelayMs, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  });
  const worker = (concurrency: number, limiter?: RateLimiterOptions): QueueDefinition['worker'] => ({
    concurrency,
    limiter,
    lockDuration: q.lockDurationMs,
    stalledInterval: q.stalledIntervalMs,
    maxStalledCount: 1,
  });
  const perSecond = (max: number): RateLimiterOptions | undefined =>
    max > 0 ? { max, duration: 1000 } : undefined;
  const table: Record<QueueName, Omit<QueueDefinition, 'name' | 'jobs'>> = {
    [QUEUES.orderProcessing]: { jobOptions: jobs(5), worker: worker(q.concurrency.orderProcessing) },
    // The payment gateway is the scarce resource: its calls are limited across all workers (BullMQ's
    // limiter is global), to stay under the gateway's own rate limit.
    [QUEUES.paymentProcessing]: {
      jobOptions: jobs(5),
      worker: worker(q.concurrency.paymentProcessing, perSecond(q.ratePerSecond.paymentProcessing)),
    },
    [QUEUES.inventoryManagement]: {
      jobOptions: jobs(3),
      worker: worker(q.concurrency.inventoryManagement),
    },
    [QUEUES.notificationSending]: {
      jobOptions: jobs(8),
      worker: worker(q.concurrency.notificationSending, perSecond(q.ratePerSecond.notificationSending)),
    },
    // Both webhook handlers are safe to re-run (idempotent fan-out, leased attempts): a job a killed worker
    // held is handed on however often that happens, instead of dead-lettering it as STALLED.
    [QUEUES.webhookFanOut]: {
      jobOptions: jobs(8),
      worker: { ...worker(q.concurrency.orderProcessing), maxStalledCount: 10 },
    },
    // One job is one attempt, already leased in PostgreSQL: the delivery row keeps the retry schedule
    // (docs/webhooks.md), so BullMQ retries only a job that failed to record its outcome.
    [QUEUES.webhookDelivery]: {
      jobOptions: { ...jobs(3), removeOnComplete: { age: HOUR, count: 10_000 } },
      worker: { ...worker(config.webhooks.deliveryConcurrency), maxStalledCount: 10 },
    },
  };
  return (Object.values(QUEUES) as QueueName[]).map((name) => ({
    name,
    jobs: Object.values(JOBS[name]),
    ...table[name],
  }));
}
