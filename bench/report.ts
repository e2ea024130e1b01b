import { PgbenchResult } from './pgbench';
import { EndToEndPhase, EndToEndRun } from './e2e';
import { LoadResult } from './load';
import { ProbeSummary } from './metrics-probe';
import { ProcessMemory } from './service';

export interface HttpPhaseResult {
  name: string;
  /** What the figure runs with (production defaults unless it says otherwise). */
  settings?: string;
  /** Open-loop phases: the offered rate (requests leave on schedule, answered or not). */
  offeredRate?: number;
  load: LoadResult;
  api: ProbeSummary;
  /** CPU time the api process spent per request: robust to the noise of a shared machine. */
  apiCpuMsPerRequest: number | null;
}

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  label?: string;
  profile: 'quick' | 'full';
  options: Record<string, unknown>;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    postgres: string;
    redis: string;
    loadAverageAtStart: number[];
  };
  pgbench?: PgbenchResult;
  http: HttpPhaseResult[];
  endToEnd: EndToEndRun[];
  memory: ({ process: string; pid: number } & ProcessMemory)[];
  notes: string[];
}

const f0 = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : n.toFixed(0));
const f1 = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : n.toFixed(1));
const ms = (n: number | null | undefined): string =>
  n === null || n === undefined ? '–' : n < 10 ? n.toFixed(1) : n.toFixed(0);

/** The results as a Markdown table: readable in a terminal, pasted as is into the README. */
export function renderTable(results: BenchResults): string {
  const reference = results.pgbench?.tps;
  const ratio = (value: number | null | undefined): string =>
    reference && value ? `${(value / reference).toFixed(2)}` : '–';
  const rows: string[][] = [];
  if (results.pgbench) {
    const p = results.pgbench;
    rows.push([
      `pgbench: the order statement, ${p.clients} clients (-M ${p.mode})`,
      `${f0(p.tps)} tps`,
      '1.00',
      `avg ${ms(p.latencyAvgMs)}`,
      `${p.failed} failed`,
      '',
    ]);
  }
  for (const h of results.http) {
    const l = h.load;
    const shape = h.offeredRate
      ? `open loop, ${h.offeredRate} req/s offered`
      : `${l.connections} connections`;
    rows.push([
      `${h.name}, ${shape}${h.settings ? ` [${h.settings}]` : ''}`,
      `${f0(l.rps)} req/s`,
      ratio(l.rps),
      `${ms(l.latencyMs.p50)} / ${ms(l.latencyMs.p95)} / ${ms(l.latencyMs.p99)}`,
      `${l.non2xx + l.errors}`,
      ms(h.api.eventLoopP99MaxMs),
      h.apiCpuMsPerRequest === null ? '–' : h.apiCpuMsPerRequest.toFixed(2),
    ]);
  }
  for (const run of results.endToEnd) {
    rows.push(...endToEndRows(run, ratio));
  }
  const header = [
    'figure',
    'throughput',
    '× pgbench',
    'latency p50 / p95 / p99 (ms)',
    'errors',
    'event-loop lag p99, worst second (ms)',
    'CPU ms per request or order',
  ];
  const padded = rows.map((r) => [...r, ...Array<string>(Math.max(0, header.length - r.length)).fill('')]);
  const lines = [header, header.map(() => '---'), ...padded].map((r) => `| ${r.join(' | ')} |`);
  const memory = results.memory.map((m) => `${m.process} ${f0(m.peakRssMiB)} MiB`).join(', ');
  const e2eGrowth = results.endToEnd.flatMap((run) =>
    phasesOf(run)
      .filter(({ phase }) => phase.submit.seconds >= 120)
      .map(
        ({ name, phase }) =>
          `E2E ${run.label}, ${name}: api ${f0(phase.api.rssStartMiB)} → ${f0(phase.api.rssEndMiB)} MiB` +
          phase.workers
            .map((w, i) => `, worker ${i + 1} ${f0(w.rssStartMiB)} → ${f0(w.rssEndMiB)} MiB`)
            .join(''),
      ),
  );
  // Growth over the HTTP phases: the api's RSS in their first and last minute (meaningful for long phases).
  const growth = results.http
    .filter((h) => h.load.seconds >= 120)
    .map(
      (h) =>
        `${h.name}, ${h.load.connections} connections, ${f0(h.load.seconds)} s: ` +
        `${f0(h.api.rssStartMiB)} MiB (first minute) → ${f0(h.api.rssEndMiB)} MiB (last minute)`,
    );
  return [
    lines.join('\n'),
    '',
    `Peak RSS (VmHWM): ${memory || '–'}`,
    ...growth.map((g) => `api RSS, median: ${g}`),
    ...e2eGrowth.map((g) => `RSS, median of the first → last minute: ${g}`),
    '',
    renderCostTable(results),
    ...results.notes.map((n) => `Note: ${n}`),
  ].join('\n');
}

/** Every end-to-end phase of a run with its printed name (older results hold one steady object). */
function phasesOf(run: EndToEndRun): { name: string; phase: EndToEndPhase }[] {
  const phases: { name: string; phase: EndToEndPhase }[] = [];
  if (run.atRest) {
    phases.push({
      name: `at rest (${run.atRest.submit.requests} orders at ${run.atRest.rate}/s)`,
      phase: run.atRest,
    });
  }
  if (run.burst) {
    phases.push({ name: `burst of ${run.burst.submit.requests} (64 conn)`, phase: run.burst });
  }
  const steady = run.steady === undefined ? [] : Array.isArray(run.steady) ? run.steady : [run.steady];
  for (const p of steady) {
    phases.push({ name: `steady ${p.rate}/s for ${f0(p.submit.seconds)} s`, phase: p });
  }
  return phases;
}

/**
 * What one order costs, per end-to-end phase: CPU ms of each process kind and the work it asks of
 * PostgreSQL and Redis. CPU on a shared machine is far less noisy than throughput, but "PostgreSQL,
 * all" counts every postgres process on the machine (other users included); "our backends" counts
 * only this database's connections (no WAL writer or checkpointer).
 */
export function renderCostTable(results: BenchResults): string {
  const header = [
    'per settled order',
    'api CPU ms',
    'worker CPU ms',
    'PostgreSQL CPU ms (our backends / all)',
    'Redis CPU ms',
    'total CPU ms',
    'transactions',
    'round trips',
    'Redis commands',
    'payment jobs retried / put back; gateway 429s (phase total)',
  ];
  const rows = results.endToEnd.flatMap((run) =>
    phasesOf(run).map(({ name, phase }) => {
      const c = phase.cpuMsPerOrder;
      const total = [c.api, c.workers, c.postgresBackends ?? c.postgres, c.redis].reduce<number | null>(
        (sum, v) => (sum === null || v === null || v === undefined ? sum : sum + v),
        0,
      );
      return [
        `${run.label}, ${name}`,
        ms2(c.api),
        ms2(c.workers),
        `${ms2(c.postgresBackends)} / ${ms2(c.postgres)}`,
        ms2(c.redis),
        ms2(total),
        f1(phase.transactionsPerOrder),
        f1(phase.roundTripsPerOrder),
        f1(phase.redisCommandsPerOrder),
        phase.payments
          ? `${phase.payments.retried} / ${phase.payments.delayed}; ${phase.payments.rateLimited}`
          : '–',
      ];
    }),
  );
  if (rows.length === 0) {
    return '';
  }
  const commands = results.endToEnd.flatMap((run) =>
    phasesOf(run)
      .filter(({ phase }) => phase.redisCommandsByType)
      .map(
        ({ name, phase }) =>
          `Redis commands per order, ${run.label}, ${name}: ` +
          Object.entries(phase.redisCommandsByType!)
            .slice(0, 12)
            .map(([command, n]) => `${command} ${n}`)
            .join(', '),
      ),
  );
  return [
    [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n'),
    ...commands,
  ].join('\n');
}

const ms2 = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : n.toFixed(2));

const loopLag = (p: EndToEndPhase): string => {
  const workers = p.workers.map((w) => ms(w.eventLoopP99MaxMs)).join(', ');
  return workers ? `api ${ms(p.api.eventLoopP99MaxMs)}, workers ${workers}` : ms(p.api.eventLoopP99MaxMs);
};

const cpuPerOrder = (p: EndToEndPhase): string =>
  p.cpuMsPerOrder.api === null
    ? '–'
    : `${p.cpuMsPerOrder.api.toFixed(2)} (+ workers ${p.cpuMsPerOrder.workers?.toFixed(2) ?? '–'}, ` +
      `PostgreSQL ${p.cpuMsPerOrder.postgres?.toFixed(2) ?? '–'}) per order; ` +
      `${p.transactionsPerOrder?.toFixed(1) ?? '–'} DB transactions per order`;

function endToEndRows(run: EndToEndRun, ratio: (v: number | null | undefined) => string): string[][] {
  const outcome = (p: EndToEndPhase): string => {
    const statuses = Object.entries(p.stats.byStatus)
      .map(([status, n]) => `${status} ${n}`)
      .join(', ');
    const settled = p.settle.incomplete
      ? `only ${p.stats.settled}/${p.settle.total} settled before the ${p.settle.incomplete}, latencies of those`
      : `all ${p.stats.orders} settled`;
    return `${settled}: ${statuses}; dead letters ${p.stats.deadLetters}`;
  };
  const saga = (p: EndToEndPhase): string => {
    const c = p.stats.confirmMs;
    const l = p.stats.outboxLagMs;
    return (
      (c ? `submit→CONFIRMED ${ms(c.p50)} / ${ms(c.p95)} / ${ms(c.p99)}` : 'submit→CONFIRMED –') +
      (l ? `; outbox commit→enqueue ${ms(l.p50)} / – / ${ms(l.p99)}` : '')
    );
  };
  const rowsOf = (name: string, p: EndToEndPhase, compare: boolean): string[][] => [
    [
      `E2E ${run.label}, ${name}: accepted by the API${run.settings ? ` [${run.settings}]` : ''}`,
      `${f0(p.submit.rps)} orders/s`,
      compare ? ratio(p.submit.rps) : '',
      `${ms(p.submit.latencyMs.p50)} / ${ms(p.submit.latencyMs.p95)} / ${ms(p.submit.latencyMs.p99)}`,
      `${p.submit.non2xx + p.submit.errors}`,
      loopLag(p),
      '',
    ],
    [
      `E2E ${run.label}, ${name}: through the saga (${outcome(p)})`,
      p.ordersPerSecond ? `${f0(p.ordersPerSecond)} orders/s over ${f1(p.stats.spanSeconds)} s` : '–',
      compare ? ratio(p.ordersPerSecond) : '',
      saga(p),
      '',
      '',
      cpuPerOrder(p),
    ],
  ];
  const rows: string[][] = [];
  for (const { name, phase } of phasesOf(run)) {
    rows.push(...rowsOf(name, phase, run.burst === phase));
  }
  return rows;
}
