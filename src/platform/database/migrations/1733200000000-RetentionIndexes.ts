import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes the retention rules walk, so each pruning batch is an index range scan and never a scan of
 * the table (idempotency_records.expires_at and processed_messages.processed_at had theirs already).
 * Partial: each holds only rows that will be pruned, so it stays small. Not CONCURRENTLY: that waits
 * for every older snapshot, including a second process blocked on the migration lock. On a large
 * installation create them CONCURRENTLY by hand first; IF NOT EXISTS then makes this a no-op.
 */
export class RetentionIndexes1733200000000 implements MigrationInterface {
  name = 'RetentionIndexes1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS refresh_tokens_revoked_idx ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS dead_letters_settled_idx ON dead_letters (updated_at) WHERE status IN ('REPLAYED', 'DISCARDED', 'RESOLVED')`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS notifications_uncompacted_idx ON notifications (created_at) WHERE body IS NOT NULL AND status <> 'QUEUED'`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS saga_state_uncompacted_idx ON saga_state (finished_at) WHERE step_history <> '[]'::jsonb AND status IN ('COMPLETED', 'COMPENSATED')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of [
      'saga_state_uncompacted_idx',
      'notifications_uncompacted_idx',
      'dead_letters_settled_idx',
      'refresh_tokens_revoked_idx',
    ]) {
      await q.query(`DROP INDEX IF EXISTS ${index}`);
    }
  }
}
