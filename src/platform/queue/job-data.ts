import { DomainEventPayloads, DomainEventType } from '../outbox/domain-events';
import { JobProgress } from './job-progress';
import type { TraceCarrier } from '../tracing/trace-context';

/**
 * What the outbox relay puts in every job it publishes. `eventId` is the message id consumers
 * dedupe on (see `Inbox`); a replayed job has a new BullMQ job id but the same `eventId`.
 */
export interface OutboxJobData<T extends DomainEventType = DomainEventType> {
  eventId: string;
  eventType: T;
  schemaVersion: number;
  payload: DomainEventPayloads[T];
  correlationId: string | null;
  aggregateId: string;
  /** The relay's publish span (W3C): the job's span is its child. Absent with tracing off. */
  traceContext?: TraceCarrier;
}

/**
 * A batch job: the events the relay claimed together for one route, each with the job id it would have
 * had on its own. A handler that cannot finish one of them hands it off as that job (`BatchHandOff`), so
 * it retries and is dead-lettered alone.
 */
export interface OutboxBatchJobData<T extends DomainEventType = DomainEventType> {
  events: (OutboxJobData<T> & { jobId: string })[];
}

/** What a handler learns about the job it runs, besides its data. */
export interface JobInfo {
  id: string;
  name: string;
  queue: string;
  /** Attempts already made before this one (0 on the first run). */
  attemptsMade: number;
  attempts: number;
  /**
   * Reports where the job is (`job.updateProgress`, shown by Bull Board): call it as often as is natural,
   * even once per item of a batch; writes are coalesced (docs/messaging.md, job progress). The worker
   * adds `attempt`.
   */
  progress(value: JobProgress): void;
}

export type JobHandlerFn<T = unknown> = (data: T, job: JobInfo) => Promise<unknown>;

export function isOutboxJobData(data: unknown): data is OutboxJobData {
  const candidate = data as Partial<OutboxJobData> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.eventId === 'string' &&
    typeof candidate.eventType === 'string' &&
    typeof candidate.schemaVersion === 'number'
  );
}
