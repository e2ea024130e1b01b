import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { TraceCarrier } from '../tracing/trace-context';

export interface OutboxRow {
  id: string;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  schemaVersion: number;
  payload: unknown;
  correlationId: string | null;
  /** The writer's W3C trace context; null with tracing off. */
  traceContext: TraceCarrier | null;
  createdAt: Date;
  attempts: number;
  replayCount: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface OutboxStats {
  pending: number;
  parked: number;
  oldestPendingAgeSeconds: number;
}

export interface ReplayFilter {
  eventId?: string;
  aggregateId?: string;
  from?: Date;
  to?: Date;
  eventType?: string;
  limit: number;
}

export interface ParkedEvent {
  id: string;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  parkedAt: Date;
  replayCount: number;
}

const ROW = `id, aggregate_type AS "aggregateType", aggregate_id AS "aggregateId", event_type AS "eventType",
  schema_version AS "schemaVersion", payload, correlation_id AS "correlationId", trace_context AS "traceContext", created_at AS "createdAt",
  attempts, replay_count AS "replayCount"`;

/**
 * The outbox table seen from the relay, the pruner and the replay endpoint. Statements that return
 * rows from an UPDATE/DELETE wrap it in a CTE: TypeORM's `query` answers `[rows, count]` for those.
 */
@Injectable()
export class OutboxStore {
  constructor(private readonly dataSource: DataSource) {}

  /** SKIP LOCKED lets several relays run at once without two of them claiming the same row. */
  async claimBatch(tx: EntityManager, limit: number): Promise<OutboxRow[]> {
    return tx.query<OutboxRow[]>(
      `SELECT ${ROW} FROM outbox_events
       WHERE processed_at IS NULL AND parked_at IS NULL AND available_at <= now()
       ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  }

  /** Returns commit→enqueue lag in seconds (PostgreSQL's clock) of the first-time publications. */
  async markProcessed(tx: EntityManager, ids: string[]): Promise<number[]> {
    if (ids.length === 0) {
      return [];
    }
    const rows = await tx.query<{ lag: number; replayCount: number }[]>(
      `WITH done AS (
         UPDATE outbox_events SET processed_at = clock_timestamp(), last_error = NULL
         WHERE id = ANY($1::uuid[])
         RETURNING extract(epoch FROM clock_timestamp() - created_at)::float8 AS lag, replay_count AS "replayCount")
       SELECT * FROM done`,
      [ids],
    );
    return rows.filter((r) => r.replayCount === 0).map((r) => r.lag);
  }

  /**
   * A failed publication: count the attempt, keep the error, and try again after an exponential
   * backoff with jitter; after `maxAttempts` the row is parked for an operator. Returns how many were parked.
   */
  async markFailed(
    tx: EntityManager,
    ids: string[],
    error: string,
    policy: RetryPolicy,
    /** False when the broker itself is down: the rows back off but keep their attempts (never parked). */
    countAttempt = true,
  ): Promise<number> {
    if (ids.length === 0) {
      return 0;
    }
    const rows = await tx.query<{ parked: boolean }[]>(
      `WITH failed AS (
         UPDATE outbox_events SET attempts = attempts + $6::int, last_error = $2,
           available_at = clock_timestamp()
             + LEAST($4::float8, $3::float8 * power(2, LEAST(attempts, 30))) * (0.5 + random() * 0.5)
               * interval '1 millisecond',
           parked_at = CASE WHEN $6::int = 1 AND attempts + 1 >= $5 THEN clock_timestamp() END
         WHERE id = ANY($1::uuid[])
         RETURNING parked_at IS NOT NULL AS parked)
       SELECT * FROM failed`,
      [
        ids,
        error.slice(0, 2000),
        policy.baseDelayMs,
        policy.maxDelayMs,
        policy.maxAttempts,
        countAttempt ? 1 : 0,
      ],
    );
    return rows.filter((r) => r.parked).length;
  }

  async stats(): Promise<OutboxStats> {
    const [row] = await this.dataSource.query<{ pending: string; parked: string; oldest: number | null }[]>(
      `SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending,
              count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL))::float8 AS oldest
       FROM outbox_events WHERE processed_at IS NULL`,
    );
    return {
      pending: Number(row.pending),
      parked: Number(row.parked),
      oldestPendingAgeSeconds: row.oldest ?? 0,
    };
  }

  /** Events parked after too many failed publications, oldest first: an operator replays them. */
  async listParked(page: { limit: number; offset: number }): Promise<{ rows: ParkedEvent[]; total: number }> {
    const rows = await this.dataSource.query<(ParkedEvent & { total: number })[]>(
      `SELECT id, aggregate_type AS "aggregateType", aggregate_id AS "aggregateId", event_type AS "eventType",
         attempts, last_error AS "lastError", created_at AS "createdAt", parked_at AS "parkedAt",
         replay_count AS "replayCount", count(*) OVER ()::int AS total
       FROM outbox_events WHERE parked_at IS NOT NULL AND processed_at IS NULL
       ORDER BY parked_at, id LIMIT $1 OFFSET $2`,
      [page.limit, page.offset],
    );
    return { rows: rows.map(({ total: _total, ...row }) => row), total: rows[0]?.total ?? 0 };
  }

  /** Deletes processed events older than the retention, in small batches so no lock is held for long. */
  async prune(retentionHours: number, batchSize = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.dataSource.query<unknown[]>(
        `WITH pruned AS (
           DELETE FROM outbox_events WHERE id IN (
             SELECT id FROM outbox_events
             WHERE processed_at < now() - make_interval(hours => $1)
             LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING 1)
         SELECT * FROM pruned`,
        [retentionHours, batchSize],
      );
      total += deleted.length;
      if (deleted.length < batchSize) {
        return total;
      }
    }
  }

  /**
   * Schedules processed (or parked) events for another publication through the relay: the relay
   * derives a new job id from `replay_count`. Events still pending are on their way already.
   */
  async scheduleReplay(tx: EntityManager, filter: ReplayFilter): Promise<string[]> {
    const conditions = ['(processed_at IS NOT NULL OR parked_at IS NOT NULL)'];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.eventId) {
      add('id = ?', filter.eventId);
    }
    if (filter.aggregateId) {
      add('aggregate_id = ?', filter.aggregateId);
    }
    if (filter.from) {
      add('created_at >= ?', filter.from);
    }
    if (filter.to) {
      add('created_at < ?', filter.to);
    }
    if (filter.eventType) {
      add('event_type = ?', filter.eventType);
    }
    params.push(filter.limit);
    const rows = await tx.query<{ id: string }[]>(
      `WITH replayed AS (
         UPDATE outbox_events SET processed_at = NULL, parked_at = NULL, attempts = 0, last_error = NULL,
           available_at = now(), replay_count = replay_count + 1
         WHERE id IN (SELECT id FROM outbox_events WHERE ${conditions.join(' AND ')}
                      ORDER BY created_at LIMIT $${params.length} FOR UPDATE)
         RETURNING id)
       SELECT id FROM replayed`,
      params,
    );
    return rows.map((r) => r.id);
  }
}
