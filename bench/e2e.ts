import { BenchDatabase, OrderStats, SettleOutcome } from './database';
import { LoadResult, runLoad } from './load';
import { MetricsProbe, PaymentCounters, ProbeSummary, scrapePaymentCounters } from './metrics-probe';
import { collectOrderIds, placeOrderRequest } from './workload';

export interface EndToEndPhase {
  submit: LoadResult;
  settle: SettleOutcome;
  stats: OrderStats;
  /** Orders settled per second, first order created → last order settled. */
  ordersPerSecond: number | null;
  api: ProbeSummary;
  /** One per worker process (served on WORKER_METRICS_PORT). */
  workers: ProbeSummary[];
  /**
   * CPU time per settled order, from submit to settled: the api, all workers, every `postgres` process
   * on the machine (shared: noisy), this database's backends only, and the bench's own Redis.
   */
  cpuMsPerOrder: {
    api: number | null;
    workers: number | null;
    postgres: number | null;
    postgresBackends?: number | null;
    redis?: number | null;
  };
  /** PostgreSQL transactions per settled order (statistics are flushed lazily: approximate). */
  transactionsPerOrder: number | null;
  /** Client→PostgreSQL round trips (Query or Sync messages) per settled order, counted by a proxy. */
  roundTripsPerOrder?: number | null;
  /** Commands the (bench's own) Redis processed per settled order. */
  redisCommandsPerOrder?: number | null;
  /** The same by command, the busiest first (what to cut). */
  redisCommandsByType?: Record<string, number>;
  /** Payment jobs retried (attempts spent) and put back (no attempt spent), and gateway 429s, in the phase. */
  payments?: PaymentCounters;
}

export interface CpuReading {
  api: number | undefined;
  workers: number | undefined;
  postgres: number | undefined;
  postgresBackends?: number | undefined;
  redis?: number | undefined;
}

export interface CounterReading {
  roundTrips: number | undefined;
  redisCommands: number | undefined;
  redisCommandStats?: Record<string, number>;
}

export interface EndToEndRun {
  label: string;
  workers: number;
  /** What the figure runs with, printed in its rows: production defaults, or what was lifted and why. */
  settings: string;
  atRest?: EndToEndPhase & { rate: number };
  burst?: EndToEndPhase;
  /** One per offered rate (older results: a single object). */
  steady?: (EndToEndPhase & { rate: number }) | (EndToEndPhase & { rate: number })[];
}

interface Context {
  apiUrl: string;
  db: BenchDatabase;
  tokens: string[];
  products: number;
  stallSeconds: number;
  settleTimeoutSeconds: number;
  steadySettleSeconds: number;
  assertAlive: () => void;
  /** Restarts the workers on an empty order history and empty queues. */
  freshStart: () => Promise<void>;
  workerUrls: string[];
  /** CPU seconds used so far by the api process, the worker processes (summed), PostgreSQL and Redis. */
  cpu: () => Promise<CpuReading>;
  counters: () => Promise<CounterReading>;
}

async function phase(
  ctx: Context,
  load: { connections: number; amount?: number; duration?: number; rate?: number; settleSeconds: number },
): Promise<EndToEndPhase> {
  const ids: string[] = [];
  const probe = new MetricsProbe(ctx.apiUrl).start();
  const workerProbes = ctx.workerUrls.map((url) => new MetricsProbe(url).start());
  const metricsUrls = ctx.workerUrls.length > 0 ? ctx.workerUrls : [ctx.apiUrl];
  const paymentsBefore = await scrapePaymentCounters(metricsUrls);
  const cpuBefore = await ctx.cpu();
  const countersBefore = await ctx.counters();
  const xactBefore = await ctx.db.transactionCount();
  const submit = await runLoad({
    url: ctx.apiUrl,
    connections: load.connections,
    amount: load.amount,
    duration: load.duration,
    overallRate: load.rate,
    next: placeOrderRequest(ctx.tokens, ctx.products),
    onResponse: collectOrderIds(ids),
  });
  ctx.assertAlive();
  const settle = await ctx.db.waitSettled(ids, ctx.stallSeconds, load.settleSeconds);
  ctx.assertAlive();
  const api = await probe.stop();
  const workers = await Promise.all(workerProbes.map((p) => p.stop()));
  const cpuAfter = await ctx.cpu();
  const countersAfter = await ctx.counters();
  const paymentsAfter = await scrapePaymentCounters(metricsUrls);
  // PostgreSQL publishes a backend's counters at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const xactAfter = await ctx.db.transactionCount();
  const stats = await ctx.db.orderStats(ids);
  const perOrder = (before: number | undefined, after: number | undefined): number | null =>
    before !== undefined && after !== undefined && settle.settled > 0
      ? ((after - before) * 1000) / settle.settled
      : null;
  // When the wait timed out this is the rate of the orders that did settle: still the saga's pace.
  const ordersPerSecond = stats.settled > 0 && stats.spanSeconds ? stats.settled / stats.spanSeconds : null;
  return {
    submit,
    settle,
    stats,
    ordersPerSecond,
    api,
    workers,
    transactionsPerOrder: settle.settled > 0 ? (xactAfter - xactBefore) / settle.settled : null,
    roundTripsPerOrder: count(countersBefore.roundTrips, countersAfter.roundTrips, settle.settled),
    redisCommandsPerOrder: count(countersBefore.redisCommands, countersAfter.redisCommands, settle.settled),
    redisCommandsByType: perCommand(
      countersBefore.redisCommandStats,
      countersAfter.redisCommandStats,
      settle.settled,
    ),
    payments: {
      retried: paymentsAfter.retried - paymentsBefore.retried,
      delayed: paymentsAfter.delayed - paymentsBefore.delayed,
      rateLimited: paymentsAfter.rateLimited - paymentsBefore.rateLimited,
    },
    cpuMsPerOrder: {
      api: perOrder(cpuBefore.api, cpuAfter.api),
      workers: perOrder(cpuBefore.workers, cpuAfter.workers),
      postgres: perOrder(cpuBefore.postgres, cpuAfter.postgres),
      postgresBackends: perOrder(cpuBefore.postgresBackends, cpuAfter.postgresBackends),
      redis: perOrder(cpuBefore.redis, cpuAfter.redis),
    },
  };
}

const count = (before: number | undefined, after: number | undefined, orders: number): number | null =>
  before !== undefined && after !== undefined && orders > 0 ? (after - before) / orders : null;

/**
 * A service that has been running a while has loaded its modules, compiled its templates and JIT-compiled
 * its hot paths; a worker just started has not. The at-rest figures are the latency floor of a warm
 * service, so a few orders go through first, unmeasured (they settle before the phase starts).
 */
async function warmUp(ctx: Context): Promise<void> {
  const ids: string[] = [];
  await runLoad({
    url: ctx.apiUrl,
    connections: 1,
    amount: WARM_UP_ORDERS,
    overallRate: AT_REST_RATE,
    next: placeOrderRequest(ctx.tokens, ctx.products),
    onResponse: collectOrderIds(ids),
  });
  await ctx.db.waitSettled(ids, ctx.stallSeconds, ctx.steadySettleSeconds);
  // PostgreSQL publishes a backend's counters up to a second late: keep them out of the next phase's count.
  await new Promise((resolve) => setTimeout(resolve, 1100));
}

/**
 * Each phase on a clean slate: a trickle at rest (50 orders at 20/s: the latency floor, the relay's lag
 * with no backlog), a burst of `burstOrders` submitted as fast as the API takes them (64 connections),
 * waited on until all settle, then a steady run for `duration` seconds at each of `steadyRates`.
 */
export async function runEndToEnd(
  ctx: Context,
  run: {
    label: string;
    workers: number;
    settings: string;
    atRest: boolean;
    burstOrders?: number;
    /** Longest wait for the burst to settle (a slow gateway needs more than the default). */
    burstSettleSeconds?: number;
    steadyRates: number[];
    duration: number;
  },
): Promise<EndToEndRun> {
  await warmUp(ctx);
  const result: EndToEndRun = { label: run.label, workers: run.workers, settings: run.settings };
  let fresh = true;
  const clean = async (): Promise<void> => {
    if (!fresh) {
      await ctx.freshStart();
    }
    fresh = false;
  };
  if (run.atRest) {
    await clean();
    const atRest = await phase(ctx, {
      connections: 1,
      amount: AT_REST_ORDERS,
      rate: AT_REST_RATE,
      settleSeconds: ctx.steadySettleSeconds,
    });
    result.atRest = { ...atRest, rate: AT_REST_RATE };
    if (atRest.settle.incomplete === 'saga-not-running') {
      return result;
    }
  }
  if (run.burstOrders) {
    await clean();
    result.burst = await phase(ctx, {
      connections: 64,
      amount: run.burstOrders,
      settleSeconds: run.burstSettleSeconds ?? ctx.settleTimeoutSeconds,
    });
  }
  const steady: (EndToEndPhase & { rate: number })[] = [];
  for (const rate of run.steadyRates) {
    await clean();
    const p = await phase(ctx, {
      // Enough connections that the offered rate is kept while the API answers in tens of ms.
      connections: Math.max(32, Math.ceil(rate / 10)),
      duration: run.duration,
      rate,
      settleSeconds: ctx.steadySettleSeconds,
    });
    steady.push({ ...p, rate });
  }
  if (steady.length > 0) {
    result.steady = steady;
  }
  return result;
}

const AT_REST_ORDERS = 50;
const AT_REST_RATE = 20;
const WARM_UP_ORDERS = 30;

/** Calls per settled order of each Redis command, busiest first (those above 0.05 per order). */
function perCommand(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
  settled: number,
): Record<string, number> | undefined {
  if (!before || !after || settled === 0) {
    return undefined;
  }
  return Object.fromEntries(
    Object.entries(after)
      .map(([command, calls]): [string, number] => [
        command,
        Math.round(((calls - (before[command] ?? 0)) / settled) * 100) / 100,
      ])
      .filter(([, perOrder]) => perOrder >= 0.05)
      .sort((a, b) => b[1] - a[1]),
  );
}
