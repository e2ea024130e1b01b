import { Redis } from 'ioredis';
import { DEFAULT_REDIS_URL } from '../../src/config/config';
import { dropDatabase } from './test-database';

/** Drops this run's database and deletes this run's Redis keys. */
export default async function globalTeardown(): Promise<void> {
  if (process.env.KEEP_TEST_DATABASE !== 'true' && process.env.DATABASE_URL) {
    await dropDatabase(process.env.DATABASE_URL);
  }
  await (globalThis as { pgBouncer?: { stop(): Promise<void> } }).pgBouncer?.stop();
  const prefix = process.env.QUEUE_PREFIX;
  if (!prefix) {
    return;
  }
  const redis = new Redis(process.env.REDIS_URL ?? DEFAULT_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        await redis.del(...keys);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
