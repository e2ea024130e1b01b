/**
 * Batched deletes against dropping time partitions, for an append-only high-volume table shaped like the
 * inbox (`processed_messages`: a uuid key, a consumer, a timestamp) — issue 22 asks to measure both before
 * choosing (docs/operations.md, Retention). A scratch database gets `rows` rows spread over 10 days, twice:
 * one plain table with an index on the timestamp (what the pruner deletes from), one partitioned by day.
 * Then the oldest half is removed from each — by the pruner's statement in batches, and by DETACH + DROP of
 * five partitions — and the script prints time, WAL written, the longest single statement (the longest
 * lock), and the table's size afterwards (a delete leaves dead rows until VACUUM; a drop frees the files).
 * The database is dropped.
 *
 *   node -r @swc-node/register scripts/measure-pruning.ts [rows=1000000] [batch=1000]
 */
import { Client } from 'pg';
import { databaseUrlFor, dropDatabase, uniqueName } from '../test/support/test-database';

interface Measured {
  way: string;
  seconds: number;
  walMiB: number;
  longestStatementMs: number;
  statements: number;
  sizeAfterMiB: number;
  sizeAfterVacuumMiB: number;
}

const DAYS = 10;

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const batch = Number(process.argv[3] ?? 1000);
  const name = uniqueName('aop_pruning');
  const admin = new Client({ connectionString: databaseUrlFor('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const db = new Client({ connectionString: databaseUrlFor(name) });
  await db.connect();
  try {
    await db.query(`
      CREATE TABLE plain (message_id uuid PRIMARY KEY, consumer text NOT NULL, processed_at timestamptz NOT NULL);
      CREATE INDEX plain_processed_idx ON plain (processed_at);
      CREATE TABLE parted (message_id uuid NOT NULL, consumer text NOT NULL, processed_at timestamptz NOT NULL,
                           PRIMARY KEY (message_id, processed_at)) PARTITION BY RANGE (processed_at);`);
    for (let d = 0; d < DAYS; d++) {
      await db.query(
        `CREATE TABLE parted_${d} PARTITION OF parted
           FOR VALUES FROM (date_trunc('day', now()) - make_interval(days => ${DAYS - d}))
                       TO (date_trunc('day', now()) - make_interval(days => ${DAYS - d - 1}))`,
      );
    }
    const fill = (table: string) =>
      db.query(
        `INSERT INTO ${table}
         SELECT gen_random_uuid(), 'checkout',
                date_trunc('day', now()) - make_interval(days => ${DAYS}) + (n::float8 / $1) * make_interval(days => ${DAYS})
         FROM generate_series(0, $1 - 1) n`,
        [rows],
      );
    await fill('plain');
    await fill('parted');
    await db.query('VACUUM ANALYZE');
    const cutoff = `date_trunc('day', now()) - make_interval(days => ${DAYS / 2})`;

    const measured: Measured[] = [];
    measured.push(
      await measure(db, `batched DELETE (${batch} a statement, the pruner's way)`, 'plain', async (timed) => {
        for (;;) {
          const { rowCount } = await timed(
            `DELETE FROM plain WHERE message_id IN (
               SELECT message_id FROM plain WHERE processed_at < ${cutoff}
               ORDER BY processed_at LIMIT ${batch} FOR UPDATE SKIP LOCKED)`,
          );
          if ((rowCount ?? 0) < batch) {
            return;
          }
        }
      }),
    );
    measured.push(
      await measure(db, 'DETACH + DROP of 5 daily partitions', 'parted', async (timed) => {
        for (let d = 0; d < DAYS / 2; d++) {
          await timed(`ALTER TABLE parted DETACH PARTITION parted_${d}`);
          await timed(`DROP TABLE parted_${d}`);
        }
      }),
    );
    console.log(`${rows} rows over ${DAYS} days, the oldest half removed:\n`);
    console.log(
      '| way | seconds | WAL written (MiB) | longest statement (ms) | statements | table size after (MiB) | after VACUUM (MiB) |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const m of measured) {
      console.log(
        `| ${m.way} | ${m.seconds.toFixed(2)} | ${m.walMiB.toFixed(1)} | ${m.longestStatementMs.toFixed(1)} | ${m.statements} | ${m.sizeAfterMiB.toFixed(1)} | ${m.sizeAfterVacuumMiB.toFixed(1)} |`,
      );
    }
  } finally {
    await db.end();
    await dropDatabase(databaseUrlFor(name));
  }
}

async function measure(
  db: Client,
  way: string,
  table: string,
  run: (timed: (sql: string) => Promise<{ rowCount: number | null }>) => Promise<void>,
): Promise<Measured> {
  const lsn = async () =>
    (await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
  const size = async () =>
    Number(
      (
        await db.query<{ bytes: string }>(
          `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_class c
           WHERE c.oid = $1::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::regclass)`,
          [table],
        )
      ).rows[0].bytes,
    ) /
    2 ** 20;
  const before = await lsn();
  let longest = 0;
  let statements = 0;
  const started = performance.now();
  await run(async (sql) => {
    const t = performance.now();
    const result = await db.query(sql);
    longest = Math.max(longest, performance.now() - t);
    statements++;
    return result;
  });
  const seconds = (performance.now() - started) / 1000;
  const wal = (
    await db.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS bytes', [
      before,
    ])
  ).rows[0].bytes;
  const sizeAfterMiB = await size();
  await db.query(`VACUUM ${table}`);
  return {
    way,
    seconds,
    walMiB: Number(wal) / 2 ** 20,
    longestStatementMs: longest,
    statements,
    sizeAfterMiB,
    sizeAfterVacuumMiB: await size(),
  };
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
