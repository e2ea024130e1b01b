import { prepareDatabase } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { startPgBouncer } from './pgbouncer';
import { databaseUrlFor, testServerUrl, uniqueName } from './test-database';

/**
 * One database and one queue prefix per test run, so runs never see each other's data. The schema
 * comes from the real migrations; the admin from the real seed.
 */
export default async function globalSetup(): Promise<void> {
  const name = uniqueName('aop_test');
  const port = Number(process.env.TEST_PGBOUNCER_PORT ?? 0);
  if (port > 0) {
    // npm run test:pgbouncer: every query through PgBouncer 1.18 in transaction mode, prepared statements
    // off; LISTEN, the migration lock and CREATE/DROP DATABASE on the direct server connection.
    const server = testServerUrl();
    const bouncer = await startPgBouncer({ port });
    (globalThis as { pgBouncer?: typeof bouncer }).pgBouncer = bouncer;
    process.env.TEST_DATABASE_URL = bouncer.urlFor(server);
    process.env.DATABASE_DIRECT_URL = databaseUrlFor('', server);
    process.env.DATABASE_PREPARED_STATEMENTS = 'false';
  }
  process.env.DATABASE_URL = databaseUrlFor(name);
  process.env.QUEUE_PREFIX = `{${name}}`;
  process.env.SEED_DEMO = 'false';
  process.env.NODE_ENV = 'test';
  await prepareDatabase(loadConfig(process.env));
}
