import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Client } from 'pg';
import { prepareDatabase } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { MIGRATIONS } from '../../src/platform/database/migrations';
import { QUEUES } from '../../src/platform/queue/queue-names';
import { eventually } from '../support/eventually';
import { isolatedQueuePrefix } from '../support/isolation';
import { PgBouncer, startPgBouncer } from '../support/pgbouncer';
import { buildPipeline, Pipeline } from '../support/pipeline';
import { databaseUrlFor, dropDatabase, testServerUrl, uniqueName } from '../support/test-database';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The service behind PgBouncer 1.18 in transaction mode (DATABASE_URL on PgBouncer, prepared statements
 * off): what transaction pooling breaks (LISTEN, session advisory locks) runs on DATABASE_DIRECT_URL.
 * The whole e2e suite through PgBouncer is `npm run test:pgbouncer`.
 */
describe('behind PgBouncer in transaction mode', () => {
  // The real server, even when this run itself goes through PgBouncer (npm run test:pgbouncer).
  const direct = new URL(process.env.DATABASE_DIRECT_URL ?? testServerUrl());
  direct.pathname = '/';
  let bouncer: PgBouncer;
  const databases: string[] = [];
  const opened: Pipeline[] = [];

  const newDatabase = (): { direct: string; pooled: string } => {
    const url = databaseUrlFor(uniqueName('aop_bouncer'), direct.toString());
    databases.push(url);
    return { direct: url, pooled: bouncer.urlFor(url) };
  };
  const envFor = (db: { pooled: string }): Record<string, string> => ({
    DATABASE_URL: db.pooled,
    DATABASE_DIRECT_URL: direct.toString(),
    DATABASE_PREPARED_STATEMENTS: 'false',
    SEED_DEMO: 'true',
  });

  beforeAll(async () => {
    bouncer = await startPgBouncer({
      port: await freePort(),
      targetHost: direct.hostname,
      targetPort: Number(direct.port || 5432),
    });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    for (const url of databases) {
      await dropDatabase(url);
    }
    await bouncer?.stop();
  });

  it('migrates once when two processes start together, and leaves no migration lock behind', async () => {
    const db = newDatabase();
    const config = loadConfig({ ...process.env, ...envFor(db) });

    const results = await Promise.all([prepareDatabase(config), prepareDatabase(config)]);

    expect(results.map((r) => r.migrations.length).sort()).toEqual([0, MIGRATIONS.length]);
    const client = new Client({ connectionString: db.direct });
    await client.connect();
    try {
      const admins = await client.query(`SELECT count(*)::int AS n FROM users WHERE role = 'admin'`);
      expect(admins.rows[0].n).toBe(1);
      // A session lock taken through the pooler would stay held by whichever server connection got it.
      const locks = await client.query(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE l.locktype = 'advisory' AND d.datname = current_database()`,
      );
      expect(locks.rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
    // And a third start finds the lock free.
    await expect(prepareDatabase(config)).resolves.toEqual({ created: false, migrations: [] });
  });

  it('wakes the relay by NOTIFY within milliseconds (the poll is 60 s), LISTENing on the direct connection', async () => {
    const db = newDatabase();
    await prepareDatabase(loadConfig({ ...process.env, ...envFor(db), SEED_DEMO: 'false' }));
    const sut = await buildPipeline({
      ...envFor(db),
      QUEUE_PREFIX: isolatedQueuePrefix('bouncer'),
      OUTBOX_POLL_INTERVAL_MS: '60000',
    });
    opened.push(sut);
    sut.relay.start();
    await eventually(() => sut.relay.listening, { what: 'LISTEN' });

    const orderId = randomUUID();
    const startedAt = Date.now();
    const [eventId] = await sut.dataSource.transaction((tx) =>
      sut.writer.appendMany(tx, [
        {
          type: 'OrderCreated',
          aggregateType: 'order',
          aggregateId: orderId,
          payload: { orderId, userId: randomUUID() },
        },
      ]),
    );
    await eventually(() => sut.queues.get(QUEUES.orderProcessing).getJob(eventId), {
      what: 'the job published on NOTIFY',
      intervalMs: 5,
    });
    const wokeAfterMs = Date.now() - startedAt;
    // Correctness bound, not a speed target: without the NOTIFY only the 60 s poll would publish it.
    expect(wokeAfterMs).toBeLessThan(10_000);

    const client = new Client({ connectionString: db.direct });
    await client.connect();
    try {
      const listener = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'aop-outbox-listener' AND query LIKE 'LISTEN%'`,
      );
      expect(listener.rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
  });
});
