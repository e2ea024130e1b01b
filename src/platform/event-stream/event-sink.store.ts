import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface SinkMarkRow {
  id: string;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  schemaVersion: number;
  payload: unknown;
  correlationId: string | null;
  createdAt: Date;
}

export interface SinkBacklog {
  pending: number;
  oldestPendingAgeSeconds: number;
}

/**
 * `outbox_sink_marks`: which outbox events each sink still has to publish. The outbox relay adds the
 * marks inside its claim transaction; each sink's publisher claims, publishes and marks its own rows.
 */
@Injectable()
export class EventSinkStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Adds a pending mark per sink for each event (the relay's claim transaction). An event that already
   * has its mark (claimed again after a failed publication, or replayed) keeps it: replays are for the
   * job queues, a stream consumer replays from the stream.
   */
  async track(tx: EntityManager, sinks: readonly string[], eventIds: readonly string[]): Promise<void> {
    if (sinks.length === 0 || eventIds.length === 0) {
      return;
    }
    await tx.query(
      `INSERT INTO outbox_sink_marks (event_id, sink, event_created_at)
       SELECT e.id, s.sink, e.created_at
       FROM outbox_events e CROSS JOIN unnest($2::text[]) AS s(sink)
       WHERE e.id = ANY($1::uuid[])
       ON CONFLICT DO NOTHING`,
      [eventIds, sinks],
    );
  }

  /**
   * The sink's next due events in event order, or null when another process publishes for this sink right
   * now: one publisher per sink at a time (a transaction-scoped advisory lock) keeps the stream in order.
   */
  async claim(tx: EntityManager, sink: string, limit: number): Promise<SinkMarkRow[] | null> {
    const [{ locked }] = await tx.query<{ locked: boolean }[]>(
      `SELECT pg_try_advisory_xact_lock(hashtext('aop:event-sink:' || $1)) AS locked`,
      [sink],
    );
    if (!locked) {
      return null;
    }
    return tx.query<SinkMarkRow[]>(
      `SELECT e.id, e.aggregate_type AS "aggregateType", e.aggregate_id AS "aggregateId",
              e.event_type AS "eventType", e.schema_version AS "schemaVersion", e.payload,
              e.correlation_id AS "correlationId", e.created_at AS "createdAt"
       FROM outbox_sink_marks m JOIN outbox_events e ON e.id = m.event_id
       WHERE m.sink = $1 AND m.published_at IS NULL AND m.available_at <= now()
       ORDER BY m.event_created_at, m.event_id
       LIMIT $2`,
      [sink, limit],
    );
  }

  /** Returns event-written → published lag in seconds of each mark. */
  async markPublished(tx: EntityManager, sink: string, eventIds: readonly string[]): Promise<number[]> {
    if (eventIds.length === 0) {
      return [];
    }
    const rows = await tx.query<{ lag: number }[]>(
      `WITH done AS (
         UPDATE outbox_sink_marks SET published_at = clock_timestamp(), last_error = NULL
         WHERE sink = $1 AND event_id = ANY($2::uuid[]) AND published_at IS NULL
         RETURNING extract(epoch FROM clock_timestamp() - event_created_at)::float8 AS lag)
       SELECT * FROM done`,
      [sink, eventIds],
    );
    return rows.map((r) => r.lag);
  }

  /** An event the sink refused: try it again after an exponential backoff with jitter, never give up. */
  async markFailed(
    tx: EntityManager,
    sink: string,
    eventIds: readonly string[],
    error: string,
    backoff: { baseDelayMs: number; maxDelayMs: number },
  ): Promise<void> {
    if (eventIds.length === 0) {
      return;
    }
    await tx.query(
      `UPDATE outbox_sink_marks SET attempts = attempts + 1, last_error = $3,
         available_at = clock_timestamp()
           + LEAST($5::float8, $4::float8 * power(2, LEAST(attempts, 30))) * (0.5 + random() * 0.5)
             * interval '1 millisecond'
       WHERE sink = $1 AND event_id = ANY($2::uuid[])`,
      [sink, eventIds, error.slice(0, 2000), backoff.baseDelayMs, backoff.maxDelayMs],
    );
  }

  async backlog(sink: string): Promise<SinkBacklog> {
    const [row] = await this.dataSource.query<{ pending: string; oldest: number | null }[]>(
      `SELECT count(*) AS pending,
              extract(epoch FROM now() - min(event_created_at))::float8 AS oldest
       FROM outbox_sink_marks WHERE sink = $1 AND published_at IS NULL`,
      [sink],
    );
    return { pending: Number(row.pending), oldestPendingAgeSeconds: row.oldest ?? 0 };
  }
}
