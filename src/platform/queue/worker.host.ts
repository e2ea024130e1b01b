import { Inject, Injectable, Logger } from '@nestjs/common';
import { context, Context, Link, ROOT_CONTEXT, Span, SpanKind, trace } from '@opentelemetry/api';
import { DelayedError, Job, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { Counter, Histogram } from 'prom-client';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runWithContext } from '../http/request-context';
import { MetricsService } from '../metrics/metrics.service';
import { upcast } from '../outbox/upcasters';
import { queueKeyPrefix } from '../redis/redis-connection';
import { RedisService } from '../redis/redis.service';
import {
  contextOf,
  inSpan,
  runWithOrderTraces,
  SPAN_ATTRIBUTES,
  startSpan,
  TraceCarrier,
  tracingStarted,
} from '../tracing/trace-context';
import { DeadLetterStore } from './dead-letter.store';
import { isOutboxJobData, JobInfo, OutboxBatchJobData } from './job-data';
import { isDependencyUnavailable } from '../dependency-errors';
import { JobProgressReporter } from './job-progress';
import { describeError, FailureReason, isPermanentError, RetryLaterError } from './job-errors';
import { checkJobHandlers, handlerKey, RegisteredJobHandler } from './job-handler.registry';
import { QueueDefinition } from './queue-options';
import { QUEUE_DEFINITIONS, QueueRegistry } from './queue.registry';

/**
 * The base every worker shares: one BullMQ Worker per queue dispatching to the registered handler
 * by job name, inside an AsyncLocalStorage context (correlation id, queue, job id, order id) so
 * every log line correlates. Permanent errors fail at once; transient ones retry with backoff; a
 * job that fails for good is written to the dead letters before BullMQ marks it failed.
 */
@Injectable()
export class WorkerHost {
  private readonly logger = new Logger(WorkerHost.name);
  private readonly workers: Worker[] = [];
  private readonly events: QueueEvents[] = [];
  private readonly duration: Histogram<'queue' | 'job' | 'outcome'>;
  private readonly jobs: Counter<'queue' | 'job' | 'outcome'>;
  private handlers = new Map<string, RegisteredJobHandler>();

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly redis: RedisService,
    @Inject(QUEUE_DEFINITIONS) private readonly definitions: QueueDefinition[],
    private readonly deadLetters: DeadLetterStore,
    private readonly queues: QueueRegistry,
    metrics: MetricsService,
  ) {
    this.duration = new Histogram({
      name: 'aop_job_duration_seconds',
      help: 'Time a job handler ran, by queue, job and outcome (completed, retried, delayed, failed)',
      labelNames: ['queue', 'job', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    });
    this.jobs = new Counter({
      name: 'aop_jobs_total',
      help: 'Jobs handled, by queue, job and outcome (completed, retried, delayed, failed)',
      labelNames: ['queue', 'job', 'outcome'],
      registers: [metrics.registry],
    });
  }

  /** Checks the handlers (throws, failing start-up, unless each job has exactly one) and starts consuming. */
  start(registered: RegisteredJobHandler[]): void {
    this.handlers = checkJobHandlers(this.definitions, registered);
    for (const definition of this.definitions) {
      const worker = new Worker(
        definition.name,
        (job: Job, token?: string) => this.process(definition, job, token),
        {
          connection: this.redis.connectionFor('blocking'),
          prefix: queueKeyPrefix(this.config.queue.prefix, definition.name, this.config.redis.mode),
          ...definition.worker,
        },
      );
      worker.on('error', (error) =>
        this.logger.warn({ queue: definition.name, err: error.message }, 'worker error'),
      );
      this.workers.push(worker);

      // Jobs failed by BullMQ itself (stalled too often) never reach `process`: record them from the event stream.
      const events = new QueueEvents(definition.name, {
        connection: this.redis.connectionFor('blocking'),
        prefix: queueKeyPrefix(this.config.queue.prefix, definition.name, this.config.redis.mode),
      });
      events.on('failed', ({ jobId }) => void this.recordFailedElsewhere(definition, jobId));
      events.on('error', (error) =>
        this.logger.warn({ queue: definition.name, err: error.message }, 'queue events error'),
      );
      this.events.push(events);
    }
    this.logger.log({ queues: this.definitions.map((d) => d.name) }, 'workers started');
  }

  get running(): boolean {
    return this.workers.length > 0;
  }

  /** Stops taking jobs and waits for the active ones to finish (BullMQ's close does both). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all(this.events.map((e) => e.close()));
    this.workers.length = 0;
    this.events.length = 0;
  }

  private async process(definition: QueueDefinition, job: Job, token: string | undefined): Promise<unknown> {
    const jobId = job.id ?? 'unknown';
    const data = liftEventVersion(job.data);
    const context = {
      correlationId: (isOutboxJobData(data) ? data.correlationId : undefined) ?? jobId,
      queue: definition.name,
      jobId,
      orderId: orderIdOf(data),
    };
    return runWithContext(context, async () => {
      const labels = { queue: definition.name, job: job.name };
      const stop = this.duration.startTimer(labels);
      const attempt = job.attemptsMade + 1;
      const progress = new JobProgressReporter(
        (value) => job.updateProgress(value),
        this.config.queue.progressIntervalMs,
        (error) => this.logger.warn({ job: job.name, err: (error as Error).message }, 'progress not written'),
      );
      const info: JobInfo = {
        id: jobId,
        name: job.name,
        queue: definition.name,
        attemptsMade: job.attemptsMade,
        attempts: job.opts.attempts ?? 1,
        progress: (value) => progress.report({ ...value, attempt }),
      };
      try {
        const handler = this.handlers.get(handlerKey(definition.name, job.name));
        if (!handler) {
          throw new UnrecoverableError(`No handler for job "${job.name}" on queue "${definition.name}"`);
        }
        const result = await this.traced(definition.name, job, data, () =>
          handler.handler(data as never, info).finally(() => progress.finish()),
        );
        const seconds = stop({ outcome: 'completed' });
        this.logger.debug(
          { job: job.name, attempt: job.attemptsMade + 1, durationMs: Math.round(seconds * 1000) },
          'job completed',
        );
        this.jobs.inc({ ...labels, outcome: 'completed' });
        return result;
      } catch (caught) {
        // A database or broker that cannot be reached is an outage, not this job's fault: the job waits
        // about one backoff delay and comes back without spending an attempt, so a failover or restart
        // never exhausts retries (nor dead-letters jobs, nor fails notifications).
        const error =
          !(caught instanceof RetryLaterError) && isDependencyUnavailable(caught)
            ? new RetryLaterError(
                `a dependency is unavailable: ${describeError(caught)}`,
                Math.round(this.config.queue.backoffDelayMs * (1 + Math.random() * 0.5)),
              )
            : caught;
        if (error instanceof RetryLaterError) {
          stop({ outcome: 'delayed' });
          this.jobs.inc({ ...labels, outcome: 'delayed' });
          this.logger.log(
            { job: job.name, attempt: job.attemptsMade + 1, delayMs: error.delayMs, err: error.message },
            'job put back for later',
          );
          await job.moveToDelayed(Date.now() + error.delayMs, token);
          throw new DelayedError();
        }
        const permanent = isPermanentError(error);
        const final = permanent || job.attemptsMade + 1 >= info.attempts;
        const outcome = final ? 'failed' : 'retried';
        stop({ outcome });
        this.jobs.inc({ ...labels, outcome });
        const message = describeError(error);
        if (final) {
          this.logger.error(
            { job: job.name, attempt: job.attemptsMade + 1, err: message },
            'job failed for good',
          );
          await this.recordDeadLetter(
            definition,
            job,
            message,
            permanent ? 'PERMANENT_FAILURE' : 'ATTEMPTS_EXHAUSTED',
            job.attemptsMade + 1,
          );
        } else {
          this.logger.warn(
            { job: job.name, attempt: job.attemptsMade + 1, err: message },
            'job failed; will retry',
          );
        }
        throw permanent && !(error instanceof UnrecoverableError) ? new UnrecoverableError(message) : error;
      }
    });
  }

  /**
   * One span per attempt (so a retry is a span of its own), a child of the relay's publish span that the
   * job data carries. A batch job's span starts a trace of its own, linked to each order's; every order of
   * it also gets a span in its own trace, under which its saga steps, outbox rows and gateway call go.
   */
  private async traced<T>(queue: string, job: Job, data: unknown, run: () => Promise<T>): Promise<T> {
    if (!tracingStarted()) {
      return run();
    }
    const jobAttributes = {
      [SPAN_ATTRIBUTES.queueName]: queue,
      [SPAN_ATTRIBUTES.jobAttempt]: job.attemptsMade + 1,
    };
    const attributes = { ...jobAttributes, 'job.id': job.id ?? 'unknown', 'job.name': job.name };
    const members = batchMembersOf(data);
    if (!members) {
      const orderId = orderIdOf(data);
      const parent = contextOf((data as { traceContext?: TraceCarrier } | null)?.traceContext);
      if (!parent) {
        // A job no traced code asked for (the reservation expiry's schedule, every second): a trace of its
        // own each time would be noise, and nobody searches for it.
        return run();
      }
      return inSpan(
        `process ${queue}`,
        {
          kind: SpanKind.CONSUMER,
          parent,
          attributes: orderId ? { ...attributes, [SPAN_ATTRIBUTES.orderId]: orderId } : attributes,
        },
        () => runWithOrderTraces(orderId ? [[orderId, context.active()]] : [], run, jobAttributes),
      );
    }
    if (members.every((m) => !m.parent)) {
      return run();
    }
    const links: Link[] = members.flatMap((m) =>
      m.parent ? [{ context: trace.getSpanContext(m.parent)! }] : [],
    );
    return inSpan(
      `process ${queue}`,
      {
        kind: SpanKind.CONSUMER,
        parent: ROOT_CONTEXT,
        links,
        attributes: { ...attributes, 'job.orders': members.length },
      },
      async () => {
        const batchLink: Link = { context: trace.getSpanContext(context.active())! };
        const spans: [string, Span][] = members.map((m) => [
          m.orderId,
          startSpan(`process ${queue} (batch member)`, {
            kind: SpanKind.CONSUMER,
            parent: m.parent ?? ROOT_CONTEXT,
            links: [batchLink],
            attributes: { ...attributes, [SPAN_ATTRIBUTES.orderId]: m.orderId },
          }),
        ]);
        try {
          return await runWithOrderTraces(
            spans.map(([orderId, span]): [string, Context] => [
              orderId,
              trace.setSpan(context.active(), span),
            ]),
            run,
            jobAttributes,
          );
        } finally {
          spans.forEach(([, span]) => span.end());
        }
      },
    );
  }

  private async recordDeadLetter(
    definition: QueueDefinition,
    job: Job,
    error: string,
    failureReason: FailureReason,
    attempts: number,
    mode: 'reopen' | 'ignore' = 'reopen',
  ): Promise<void> {
    try {
      await this.deadLetters.record(
        {
          queue: definition.name,
          jobName: job.name,
          jobId: job.id ?? 'unknown',
          payload: job.data,
          error,
          failureReason,
          attempts,
        },
        mode,
      );
    } catch (recordError) {
      // The job stays in BullMQ's failed set (kept 7 days) and the event-stream path retries the insert.
      this.logger.error(
        { job: job.name, err: (recordError as Error).message },
        'could not record dead letter',
      );
    }
  }

  private async recordFailedElsewhere(definition: QueueDefinition, jobId: string): Promise<void> {
    try {
      const job = await Job.fromId(this.queues.get(definition.name), jobId);
      if (!job || (await job.getState()) !== 'failed') {
        return;
      }
      const reason = /stalled/i.test(job.failedReason ?? '') ? 'STALLED' : 'ATTEMPTS_EXHAUSTED';
      await this.recordDeadLetter(
        definition,
        job,
        job.failedReason ?? 'failed',
        reason,
        job.attemptsMade,
        'ignore',
      );
    } catch (error) {
      this.logger.warn({ jobId, err: (error as Error).message }, 'could not inspect failed job');
    }
  }
}

/** Jobs enqueued by an older release may carry an older event version: handlers always see the current one. */
function liftEventVersion(data: unknown): unknown {
  if (!isOutboxJobData(data)) {
    return data;
  }
  const lifted = upcast(data.eventType, data.schemaVersion, data.payload);
  return lifted.schemaVersion === data.schemaVersion ? data : { ...data, ...lifted };
}

/** The orders of a batch job, each with the context of its own publish span. */
function batchMembersOf(data: unknown): { orderId: string; parent: Context | undefined }[] | undefined {
  const events = (data as Partial<OutboxBatchJobData> | null)?.events;
  if (!Array.isArray(events)) {
    return undefined;
  }
  return events.flatMap((event) => {
    const orderId = orderIdOf(event);
    return orderId ? [{ orderId, parent: contextOf(event.traceContext) }] : [];
  });
}

function orderIdOf(data: unknown): string | undefined {
  const candidate = data as { orderId?: unknown; payload?: { orderId?: unknown } } | null;
  const id = candidate?.payload?.orderId ?? candidate?.orderId;
  return typeof id === 'string' ? id : undefined;
}
