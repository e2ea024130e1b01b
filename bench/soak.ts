import { BenchDatabase } from './database';
import { runOpenLoop } from './open-loop';
import { readMemory } from './service';
import { HttpRequestSpec } from './workload';

/**
 * Retentions shortened so they turn over several times in a soak of minutes (issue 22); the inbox
 * cannot go below the 7-day redelivery horizon (config.ts), so it is sampled but not turned over.
 */
export const SOAK_ENV: Record<string, string> = {
  RETENTION_PRUNE_INTERVAL_MS: '5000',
  IDEMPOTENCY_KEY_TTL_SECONDS: '60',
  IDEMPOTENCY_RETENTION_SECONDS: '30',
  NOTIFICATION_BODY_RETENTION_SECONDS: '120',
  SAGA_TIMELINE_RETENTION_SECONDS: '120',
  DEAD_LETTER_RETENTION_SECONDS: '120',
  REFRESH_TOKEN_RETENTION_SECONDS: '120',
  OUTBOX_RETENTION_HOURS: '1',
  OUTBOX_PRUNE_INTERVAL_MS: '60000',
};

/** Tables sampled each window; the first group is pruned (deleted), the second compacted or kept. */
export const SOAK_PRUNED = ['idempotency_records', 'outbox_events', 'dead_letters', 'refresh_tokens'];
export const SOAK_OTHERS = ['processed_messages', 'saga_state', 'notifications', 'orders', 'order_items'];

export interface SoakWindow {
  minute: number;
  requests: number;
  p99Ms: number;
  failed: number;
  rssMiB: { api: number | null; worker: number | null };
  tables: Record<string, { rows: number; bytes: number }>;
}

export interface SoakResult {
  minutes: number;
  ratePerSecond: number;
  windows: SoakWindow[];
  /** Means over the first and the last five windows (or halves of a shorter run). */
  firstVsLast: { p99Ms: [number, number]; apiRssMiB: [number, number]; workerRssMiB: [number, number] };
  /** Bytes of each table at the end of the first third and at the end. */
  tableBytes: Record<string, [number, number]>;
  notes: string[];
}

export async function runSoak(
  deps: {
    apiUrl: string;
    db: BenchDatabase;
    next: () => HttpRequestSpec;
    apiPid: number;
    workerPid: number;
    assertAlive: () => void;
    log: (message: string) => void;
  },
  spec: { minutes: number; ratePerSecond: number },
): Promise<SoakResult> {
  const windows: SoakWindow[] = [];
  const tables = [...SOAK_PRUNED, ...SOAK_OTHERS];
  for (let minute = 1; minute <= spec.minutes; minute++) {
    const load = await runOpenLoop({
      url: deps.apiUrl,
      ratePerSecond: spec.ratePerSecond,
      seconds: 60,
      next: deps.next,
    });
    deps.assertAlive();
    // Autovacuum is off on these machines: the harness vacuums what the pruner emptied, and says so.
    await deps.db.query(`VACUUM ${tables.join(', ')}`);
    // Exact counts: a soak's tables are small, and reltuples after a plain VACUUM is an estimate.
    const sizes = await Promise.all(
      tables.map(async (table) => {
        const [row] = await deps.db.query<{ rows: number; bytes: string }>(
          `SELECT (SELECT count(*) FROM ${table})::int AS rows, pg_total_relation_size($1::regclass)::text AS bytes`,
          [table],
        );
        return { table, ...row };
      }),
    );
    const window: SoakWindow = {
      minute,
      requests: load.requests,
      p99Ms: load.latencyMs.p99,
      failed: load.non2xx + load.errors,
      rssMiB: {
        api: readMemory(deps.apiPid)?.finalRssMiB ?? null,
        worker: readMemory(deps.workerPid)?.finalRssMiB ?? null,
      },
      tables: Object.fromEntries(sizes.map((s) => [s.table, { rows: s.rows, bytes: Number(s.bytes) }])),
    };
    windows.push(window);
    deps.log(
      `soak minute ${minute}/${spec.minutes}: p99 ${window.p99Ms.toFixed(0)} ms, ${window.failed} failed, rss api ${window.rssMiB.api?.toFixed(0)} / worker ${window.rssMiB.worker?.toFixed(0)} MiB, ` +
        SOAK_PRUNED.map((t) => `${t} ${window.tables[t]?.rows}`).join(', '),
    );
  }
  // Whether PostgreSQL's autovacuum ran at all (it is off on these machines), beside the harness's own VACUUMs.
  const vacuums = await deps.db.query<{ table: string; auto: number; manual: number }>(
    `SELECT relname AS table, autovacuum_count::int AS auto, vacuum_count::int AS manual
     FROM pg_stat_user_tables WHERE relname = ANY($1) ORDER BY relname`,
    [tables],
  );
  const autovacuumRuns = vacuums.reduce((sum, v) => sum + v.auto, 0);
  const span = Math.max(1, Math.min(5, Math.floor(windows.length / 2)));
  const mean = (values: (number | null)[]): number => {
    const known = values.filter((v): v is number => v !== null);
    return known.length ? known.reduce((a, b) => a + b, 0) / known.length : NaN;
  };
  const firstLast = (pick: (w: SoakWindow) => number | null): [number, number] => [
    mean(windows.slice(0, span).map(pick)),
    mean(windows.slice(-span).map(pick)),
  ];
  const third = windows[Math.max(0, Math.floor(windows.length / 3) - 1)];
  const last = windows[windows.length - 1];
  return {
    minutes: spec.minutes,
    ratePerSecond: spec.ratePerSecond,
    windows,
    firstVsLast: {
      p99Ms: firstLast((w) => w.p99Ms),
      apiRssMiB: firstLast((w) => w.rssMiB.api),
      workerRssMiB: firstLast((w) => w.rssMiB.worker),
    },
    tableBytes: Object.fromEntries(
      tables.map((t) => [t, [third?.tables[t]?.bytes ?? 0, last?.tables[t]?.bytes ?? 0] as [number, number]]),
    ),
    notes: [
      'soak: retentions shortened (SOAK_ENV in bench/soak.ts); VACUUM run by the harness after every minute',
      `soak: autovacuum ran ${autovacuumRuns} times on the sampled tables (${
        autovacuumRuns === 0
          ? 'autovacuum is off on this server'
          : vacuums
              .filter((v) => v.auto > 0)
              .map((v) => `${v.table} ${v.auto}`)
              .join(', ')
      })`,
      'soak: the inbox (processed_messages: payment webhooks and replays, none in this workload) cannot be shortened below the 7-day redelivery horizon, so it is not turned over',
    ],
  };
}
