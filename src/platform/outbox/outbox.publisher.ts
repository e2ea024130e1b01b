import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { OutboxJobData } from '../queue/job-data';
import { QueueRegistry } from '../queue/queue.registry';
import { withTimeout } from '../queue/with-timeout';
import { DomainEventType } from './domain-events';
import { OUTBOX_ROUTES, OutboxRoute } from './outbox-routes';
import { OutboxRow } from './outbox.store';
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
 * Turns outbox rows into jobs through the routing table: one `addBulk` per queue, jobId = event id,
 * so publishing the same row twice leaves one job. Never throws: failures come back per row group.
 */
@Injectable()
export class OutboxPublisher {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly queues: QueueRegistry,
  ) {}

  async publish(rows: OutboxRow[]): Promise<PublishOutcome> {
    const outcome: PublishOutcome = { published: [], unrouted: [], failed: [] };
    const byQueue = new Map<string, { row: OutboxRow; route: OutboxRoute; data: OutboxJobData }[]>();
    for (const row of rows) {
      const route = OUTBOX_ROUTES[row.eventType as DomainEventType];
      if (!route) {
        outcome.unrouted.push(row);
        continue;
      }
      try {
        byQueue.set(route.queue, [...(byQueue.get(route.queue) ?? []), { row, route, data: jobDataOf(row) }]);
      } catch (error) {
        outcome.failed.push({ rows: [row], error: (error as Error).message, brokerDown: false });
      }
    }
    await Promise.all(
      [...byQueue].map(async ([queue, jobs]) => {
        try {
          await withTimeout(
            this.queues.get(queue).addBulk(
              jobs.map(({ row, route, data }) => ({
                name: route.job,
                data,
                opts: {
                  ...route.options,
                  ...route.optionsFor?.(data.payload as never),
                  jobId: jobIdFor(row),
                },
              })),
            ),
            this.config.outbox.publishTimeoutMs,
            `publishing to ${queue}`,
          );
          outcome.published.push(...jobs.map((j) => j.row));
        } catch (error) {
          outcome.failed.push({
            rows: jobs.map((j) => j.row),
            error: (error as Error).message,
            brokerDown: !(await this.brokerAnswers()),
          });
        }
      }),
    );
    return outcome;
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
