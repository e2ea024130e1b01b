import { prepareDatabase } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { databaseUrlFor, uniqueName } from './test-database';

/**
 * One database and one queue prefix per test run, so runs never see each other's data. The schema
 * comes from the real migrations; the admin from the real seed.
 */
export default async function globalSetup(): Promise<void> {
  const name = uniqueName('aop_test');
  process.env.DATABASE_URL = databaseUrlFor(name);
  process.env.QUEUE_PREFIX = `{${name}}`;
  process.env.SEED_DEMO = 'false';
  process.env.NODE_ENV = 'test';
  await prepareDatabase(loadConfig(process.env));
}
