import { prepareDatabase } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { databaseUrlFor, dropDatabase, uniqueName } from './test-database';

/**
 * A database of its own for a spec that runs an outbox relay: a relay claims every pending row of its
 * database, so sharing the run's database would let it steal events written by other spec files.
 */
export async function createIsolatedDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = databaseUrlFor(uniqueName('aop_iso'));
  await prepareDatabase(loadConfig({ ...process.env, DATABASE_URL: url, SEED_DEMO: 'false' }));
  return { url, drop: () => dropDatabase(url) };
}

/**
 * A queue prefix of its own under this run's prefix (so global teardown still deletes its keys): a
 * spec that runs workers on the real queue names must not take jobs of another spec file.
 */
export function isolatedQueuePrefix(name: string): string {
  return `${process.env.QUEUE_PREFIX ?? '{aop_test}'}${uniqueName(name)}`;
}
