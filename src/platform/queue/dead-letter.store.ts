import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { keysetPage } from '../database/keyset-page';
import { Page } from '../http/pagination';
import { FailureReason } from './job-errors';

/** RESOLVED: made moot by the system itself (see `resolve`), never by an operator. */
export const DEAD_LETTER_STATUSES = ['OPEN', 'REPLAYED', 'DISCARDED', 'RESOLVED'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

export interface NewDeadLetter {
  queue: string;
  jobName: string;
  jobId: string;
  payload: unknown;
  error: string;
  failureReason: FailureReason;
  attempts: number;
}

export interface DeadLetter extends NewDeadLetter {
  id: string;
  status: DeadLetterStatus;
  replayCount: number;
  replayedJobId: string | null;
  resolution: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeadLetterFilter {
  queue?: string;
  failureReason?: string;
  status?: DeadLetterStatus;
  page: number;
  limit: number;
  cursor?: string;
}

const COLUMNS = `id, queue, job_name AS "jobName", job_id AS "jobId", payload, error,
  failure_reason AS "failureReason", attempts, status, replay_count AS "replayCount",
  replayed_job_id AS "replayedJobId", resolution, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The dead-letter table: jobs that exhausted their attempts or failed permanently. */
@Injectable()
export class DeadLetterStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * One row per (queue, job id). `reopen` (the worker's own path) turns a letter that was replayed or
   * discarded back to OPEN when the same job fails again; `ignore` (the event-stream safety net) never
   * overwrites what the worker recorded.
   */
  async record(letter: NewDeadLetter, mode: 'reopen' | 'ignore' = 'reopen'): Promise<void> {
    const onConflict =
      mode === 'ignore'
        ? 'DO NOTHING'
        : `DO UPDATE SET payload = EXCLUDED.payload, error = EXCLUDED.error,
             failure_reason = EXCLUDED.failure_reason, attempts = EXCLUDED.attempts,
             status = 'OPEN', updated_at = now()
           WHERE dead_letters.status <> 'OPEN'`;
    await this.dataSource.query(
      `INSERT INTO dead_letters (queue, job_name, job_id, payload, error, failure_reason, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (queue, job_id) ${onConflict}`,
      [
        letter.queue,
        letter.jobName,
        letter.jobId,
        JSON.stringify(letter.payload ?? null),
        letter.error.slice(0, 10_000),
        letter.failureReason,
        letter.attempts,
      ],
    );
  }

  /** Newest first; `cursor` pages by keyset, `page` by offset (platform/database/keyset-page.ts). */
  async list(filter: DeadLetterFilter): Promise<Page<DeadLetter>> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.queue) {
      add('queue = ?', filter.queue);
    }
    if (filter.failureReason) {
      add('failure_reason = ?', filter.failureReason);
    }
    if (filter.status) {
      add('status = ?', filter.status);
    }
    return keysetPage<DeadLetter>(
      this.dataSource,
      {
        select: COLUMNS,
        from: 'dead_letters',
        where: conditions,
        params,
        keyset: { createdAt: 'created_at', id: 'id', createdAtOrder: 'DESC', idOrder: 'ASC' },
      },
      filter,
    );
  }

  async find(
    id: string,
    tx: EntityManager = this.dataSource.manager,
    lock = false,
  ): Promise<DeadLetter | undefined> {
    const rows = await tx.query<DeadLetter[]>(
      `SELECT ${COLUMNS} FROM dead_letters WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }

  async markReplayed(tx: EntityManager, id: string, payload: unknown, replayedJobId: string): Promise<void> {
    await tx.query(
      `UPDATE dead_letters SET status = 'REPLAYED', replay_count = replay_count + 1, payload = $2,
         replayed_job_id = $3, updated_at = now()
       WHERE id = $1`,
      [id, JSON.stringify(payload ?? null), replayedJobId],
    );
  }

  async markDiscarded(tx: EntityManager, id: string): Promise<void> {
    await tx.query(`UPDATE dead_letters SET status = 'DISCARDED', updated_at = now() WHERE id = $1`, [id]);
  }

  /**
   * Deletes up to `limit` letters that were settled (replayed, discarded or resolved) and untouched for
   * the retention; OPEN ones are never deleted. A letter that fails again is reopened, so it stays.
   */
  async pruneSettled(olderThanSeconds: number, limit: number): Promise<number> {
    const [{ count }] = await this.dataSource.query<{ count: number }[]>(
      `WITH gone AS (
         DELETE FROM dead_letters WHERE id IN (
           SELECT id FROM dead_letters
           WHERE status IN ('REPLAYED', 'DISCARDED', 'RESOLVED')
             AND updated_at < now() - make_interval(secs => $1)
           ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING 1)
       SELECT count(*)::int AS count FROM gone`,
      [olderThanSeconds, limit],
    );
    return count;
  }

  /**
   * Open letters of the given queues that failed for one of `reasons`, each with the values of `key`
   * (`orderId`, `notificationId`) in the payload of the event its job carried (every event's, for a batch
   * job). Oldest first.
   */
  async openWithSubjects(
    queues: readonly string[],
    reasons: readonly FailureReason[],
    key: string,
    limit: number,
  ): Promise<{ id: string; subjects: string[] }[]> {
    return this.dataSource.query(
      `SELECT d.id,
              coalesce(
                (SELECT array_agg(e->'payload'->>$3) FROM jsonb_array_elements(
                   CASE WHEN jsonb_typeof(d.payload->'events') = 'array' THEN d.payload->'events' END) e),
                array_remove(ARRAY[coalesce(d.payload->'payload'->>$3, d.payload->>$3)], NULL)
              ) AS subjects
       FROM dead_letters d
       WHERE d.status = 'OPEN' AND d.failure_reason = ANY($2::text[]) AND d.queue = ANY($1::text[])
       ORDER BY d.created_at LIMIT $4`,
      [queues, reasons, key, limit],
    );
  }

  /** Closes open letters the system has made moot; returns how many it closed. */
  async resolve(ids: readonly string[], resolution: string): Promise<number> {
    if (ids.length === 0) {
      return 0;
    }
    const rows = await this.dataSource.query<{ id: string }[]>(
      `UPDATE dead_letters SET status = 'RESOLVED', resolution = $2, updated_at = now()
       WHERE id = ANY($1::uuid[]) AND status = 'OPEN' RETURNING id`,
      [ids, resolution],
    );
    return rows.length;
  }

  async countOpenByQueue(): Promise<Map<string, number>> {
    const rows = await this.dataSource.query<{ queue: string; count: string }[]>(
      `SELECT queue, count(*) AS count FROM dead_letters WHERE status = 'OPEN' GROUP BY queue`,
    );
    return new Map(rows.map((r) => [r.queue, Number(r.count)]));
  }
}
