import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Span, SpanKind } from '@opentelemetry/api';
import { BulkJobOptions } from 'bullmq';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { OutboxBatchJobData, OutboxJobData } from '../queue/job-data';
import { QueueRegistry } from '../queue/queue.registry';
import { withTimeout } from '../queue/with-timeout';
import { DomainEventType } from './domain-events';
import { OutboxRoute, routesOf } from './outbox-routes';
import { OutboxRow } from './outbox.store';
import {
  carrierOfSpan,
  contextOf,
  recordFailure,
  SPAN_ATTRIBUTES,
  startSpan,
} from '../tracing/trace-context';
import { upcast } from './upcasters';

export interface PublishOutcome {
  published: OutboxRow[];
  /** No consumer is routed for these event types. */
  unrouted: OutboxRow[];
  /**
   * `brokerDown`: Redis did not answer a ping after the failure, so the event is not to blame — an
   * outage must not use up its attempts and park it (it would then wait for an operator).
   */
  failed: { rows: OutboxRow[]; error: string; brokerDown: boolean }[];
}

/** The BullMQ job id of an event: its own id, or a derived one for a replay (docs/operations.md, replay). */
export function jobIdFor(row: Pick<OutboxRow, 'id' | 'replayCount'>): string {
  return row.replayCount === 0 ? row.id : `${row.id}-replay-${row.replayCount}`;
}

/**
 * The job id of a batch: derived from its events' job ids, so publishing the same claim twice leaves one
 * job. (A claim re-made differently after a crash makes another batch; handlers are idempotent per order.)
 */
export function batchJobIdFor(jobIds: readonly string[]): string {
  return `batch-${createHash('sha1').update(jobIds.join(',')).digest('hex').slice(0, 24)}`;
}

interface PendingJob {
  row: OutboxRow;
  route: OutboxRoute;
  data: OutboxJobData;
  /** The outbox hop of this event in its writer's trace; none with tracing off. */
  span?: Span;
}

/**
 * Turns outbox rows into jobs through the routing table: one `addBulk` per queue, jobId = event id,
 * so publishing the same row twice leaves one job. Events of a route with a batch job travel together,
 * up to SAGA_BATCH_SIZE per job; one alone is its ordinary job. Never throws: failures come back per
 * row group.
 */
@Injectable()
export class OutboxPublisher {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly queues: QueueRegistry,
  ) {}

  async publish(rows: OutboxRow[]): Promise<PublishOutcome> {
    const outcome: PublishOutcome = { published: [], unrouted: [], failed: [] };
    const byQueue = new Map<string, PendingJob[]>();
    const routed: OutboxRow[] = [];
    const failedIds = new Set<string>();
    for (const row of rows) {
      const routes = routesOf(row.eventType as DomainEventType);
      if (routes.length === 0) {
        outcome.unrouted.push(row);
        continue;
      }
      try {
        const data = jobDataOf(row);
        for (const route of routes) {
          const span = publishSpan(row, route, data);
          const traceContext = carrierOfSpan(span);
          const job = { row, route, data: traceContext ? { ...data, traceContext } : data, span };
          byQueue.set(route.queue, [...(byQueue.get(route.queue) ?? []), job]);
        }
        routed.push(row);
      } catch (error) {
        failedIds.add(row.id);
        outcome.failed.push({ rows: [row], error: (error as Error).message, brokerDown: false });
      }
    }
    await Promise.all(
      [...byQueue].map(async ([queue, jobs]) => {
        try {
          await withTimeout(
            this.queues.get(queue).addBulk(this.jobsOf(jobs)),
            this.config.outbox.publishTimeoutMs,
            `publishing to ${queue}`,
          );
          jobs.forEach((j) => j.span?.end());
        } catch (error) {
          for (const { span } of jobs.filter((j) => j.span)) {
            recordFailure(span!, error);
            span!.end();
          }
          // An event with several routes is reported failed once; its jobs already enqueued elsewhere
          // are ignored when it is published again (same job id).
          const rows = jobs.map((j) => j.row).filter((r) => !failedIds.has(r.id));
          rows.forEach((r) => failedIds.add(r.id));
          outcome.failed.push({
            rows,
            error: (error as Error).message,
            brokerDown: !(await this.brokerAnswers()),
          });
        }
      }),
    );
    outcome.published.push(...routed.filter((r) => !failedIds.has(r.id)));
    outcome.failed = outcome.failed.filter((f) => f.rows.length > 0);
    return outcome;
  }

  private jobsOf(jobs: PendingJob[]): { name: string; data: unknown; opts: BulkJobOptions }[] {
    const single = ({ row, route, data }: PendingJob) => ({
      name: route.job,
      data,
      opts: { ...route.options, ...route.optionsFor?.(data.payload as never), jobId: jobIdFor(row) },
    });
    const batches = new Map<string, PendingJob[]>();
    const out: { name: string; data: unknown; opts: BulkJobOptions }[] = [];
    for (const job of jobs) {
      if (job.route.batchJob) {
        batches.set(job.route.batchJob, [...(batches.get(job.route.batchJob) ?? []), job]);
      } else {
        out.push(single(job));
      }
    }
    const size = this.config.saga.batchSize;
    for (const [name, members] of batches) {
      for (let i = 0; i < members.length; i += size) {
        const chunk = members.slice(i, i + size);
        if (chunk.length === 1) {
          out.push(single(chunk[0]));
          continue;
        }
        const events = chunk.map(({ row, data }) => ({ ...data, jobId: jobIdFor(row) }));
        const data: OutboxBatchJobData = { events };
        out.push({
          name,
          data,
          opts: { ...chunk[0].route.options, jobId: batchJobIdFor(events.map((e) => e.jobId)) },
        });
      }
    }
    return out;
  }

  private async brokerAnswers(): Promise<boolean> {
    try {
      await withTimeout(this.queues.ping(), Math.min(1000, this.config.outbox.publishTimeoutMs), 'ping');
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The relay's hop for one event, a child of the span that wrote it; the job's span will be this one's
 * child. An event written outside any trace (tracing off then, say) starts no trace here either.
 */
function publishSpan(row: OutboxRow, route: OutboxRoute, data: OutboxJobData): Span | undefined {
  const parent = contextOf(row.traceContext);
  if (!parent) {
    return undefined;
  }
  const orderId = (data.payload as { orderId?: unknown }).orderId;
  return startSpan(`publish ${route.queue}`, {
    kind: SpanKind.PRODUCER,
    parent,
    attributes: {
      [SPAN_ATTRIBUTES.queueName]: route.queue,
      ...(typeof orderId === 'string' ? { [SPAN_ATTRIBUTES.orderId]: orderId } : {}),
      'outbox.event_id': row.id,
      'outbox.event_type': row.eventType,
    },
  });
}

/** Lifts old payload versions here, so consumers only ever see the current shape. */
function jobDataOf(row: OutboxRow): OutboxJobData {
  const eventType = row.eventType as DomainEventType;
  const { schemaVersion, payload } = upcast(eventType, row.schemaVersion, row.payload);
  return {
    eventId: row.id,
    eventType,
    schemaVersion,
    payload,
    correlationId: row.correlationId,
    aggregateId: row.aggregateId,
  };
}
