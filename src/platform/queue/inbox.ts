import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

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
