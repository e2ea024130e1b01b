import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A dead letter can be RESOLVED by the system itself: a saga job that stalled out (its worker was killed
 * twice) while saga recovery went on to finish the order. `resolution` says what made it moot.
 */
export class DeadLetterResolved1733100000000 implements MigrationInterface {
  name = 'DeadLetterResolved1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE dead_letters DROP CONSTRAINT IF EXISTS dead_letters_status_check`);
    await q.query(
      `ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_status_check
         CHECK (status IN ('OPEN', 'REPLAYED', 'DISCARDED', 'RESOLVED'))`,
    );
    await q.query(`ALTER TABLE dead_letters ADD COLUMN resolution text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE dead_letters SET status = 'DISCARDED' WHERE status = 'RESOLVED'`);
    await q.query(`ALTER TABLE dead_letters DROP COLUMN IF EXISTS resolution`);
    await q.query(`ALTER TABLE dead_letters DROP CONSTRAINT IF EXISTS dead_letters_status_check`);
    await q.query(
      `ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_status_check
         CHECK (status IN ('OPEN', 'REPLAYED', 'DISCARDED'))`,
    );
  }
}
