import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The idempotency records' upkeep. Writing and replaying them is one statement of the order path
 * (place-order.command.ts); this deletes them once a retry can no longer be expected.
 */
@Injectable()
export class IdempotencyRecordsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Deletes up to `limit` records that expired longer than the retention ago (range scan on expires_at). */
  async pruneExpired(afterExpirySeconds: number, limit: number): Promise<number> {
    const [{ count }] = await this.dataSource.query<{ count: number }[]>(
      `WITH gone AS (
         DELETE FROM idempotency_records WHERE id IN (
           SELECT id FROM idempotency_records
           WHERE expires_at < now() - make_interval(secs => $1)
           ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING 1)
       SELECT count(*)::int AS count FROM gone`,
      [afterExpirySeconds, limit],
    );
    return count;
  }
}
