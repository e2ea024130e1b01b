import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A per-user token version: access tokens carry the version they were signed with, and "log out
 * everywhere" raises it, so every access token issued before stops working at once.
 */
export class UserTokenVersion1732300400000 implements MigrationInterface {
  name = 'UserTokenVersion1732300400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP COLUMN IF EXISTS token_version`);
  }
}
