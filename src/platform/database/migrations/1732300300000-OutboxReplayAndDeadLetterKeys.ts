import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbox replay and dead-letter bookkeeping: a per-event replay counter (the replayed job id is
 * derived from it, so BullMQ does not dedupe the replay against the original job) and one dead
 * letter per failed job (recording the same failure twice is a no-op).
 */
export class OutboxReplayAndDeadLetterKeys1732300300000 implements MigrationInterface {
  name = 'OutboxReplayAndDeadLetterKeys1732300300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox_events ADD COLUMN replay_count integer NOT NULL DEFAULT 0`);
    await q.query(`CREATE INDEX outbox_events_created_idx ON outbox_events (created_at)`);
    await q.query(`ALTER TABLE dead_letters ADD COLUMN replayed_job_id varchar(255)`);
    await q.query(`CREATE UNIQUE INDEX dead_letters_queue_job_key ON dead_letters (queue, job_id)`);
    await q.query(`CREATE INDEX dead_letters_reason_idx ON dead_letters (failure_reason, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS dead_letters_reason_idx`);
    await q.query(`DROP INDEX IF EXISTS dead_letters_queue_job_key`);
    await q.query(`ALTER TABLE dead_letters DROP COLUMN IF EXISTS replayed_job_id`);
    await q.query(`DROP INDEX IF EXISTS outbox_events_created_idx`);
    await q.query(`ALTER TABLE outbox_events DROP COLUMN IF EXISTS replay_count`);
  }
}
