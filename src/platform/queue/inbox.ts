import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export type InboxOutcome<T> = { duplicate: false; result: T } | { duplicate: true };

/**
 * Idempotent consumers: a message id is recorded in `processed_messages` in the same transaction as
 * the effect, so a message delivered twice (a re-published outbox event, a replay, a retried job
 * whose commit succeeded) has one effect. The unique key decides, never a look-up first.
 */
@Injectable()
export class Inbox {
  async runOnce<T>(
    tx: EntityManager,
    consumer: string,
    messageId: string,
    effect: () => Promise<T>,
  ): Promise<InboxOutcome<T>> {
    // A concurrent duplicate waits here on the first one's row lock, then sees the conflict.
    const inserted = await tx.query<unknown[]>(
      `INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [consumer, messageId],
    );
    if (inserted.length === 0) {
      return { duplicate: true };
    }
    return { duplicate: false, result: await effect() };
  }
}

/**
 * Deletes up to `limit` inbox rows older than the retention, oldest first (an index range scan on
 * processed_at); the retention is at least the longest redelivery horizon (config.ts, redeliveryHorizon).
 */
export async function pruneInbox(
  dataSource: DataSource,
  olderThanSeconds: number,
  limit: number,
): Promise<number> {
  const [{ count }] = await dataSource.query<{ count: number }[]>(
    `WITH gone AS (
       DELETE FROM processed_messages WHERE (consumer, message_id) IN (
         SELECT consumer, message_id FROM processed_messages
         WHERE processed_at < now() - make_interval(secs => $1)
         ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1)
     SELECT count(*)::int AS count FROM gone`,
    [olderThanSeconds, limit],
  );
  return count;
}
