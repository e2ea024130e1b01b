import { BenchDatabase, OrderStats, SettleOutcome } from './database';
import { LoadResult, runLoad } from './load';
import { MetricsProbe, ProbeSummary } from './metrics-probe';
import { collectOrderIds, placeOrderRequest } from './workload';

export interface EndToEndPhase {
  submit: LoadResult;
  settle: SettleOutcome;
  stats: OrderStats;
  /** Orders settled per second, first order created → last order settled. */
  ordersPerSecond: number | null;
  api: ProbeSummary;
}

export interface EndToEndRun {
  label: string;
  workers: number;
  burst: EndToEndPhase;
  steady?: EndToEndPhase & { rate: number };
}

interface Context {
  apiUrl: string;
  db: BenchDatabase;
  tokens: string[];
  products: number;
  stallSeconds: number;
  settleTimeoutSeconds: number;
}

async function phase(
  ctx: Context,
  load: { connections: number; amount?: number; duration?: number; rate?: number },
): Promise<EndToEndPhase> {
  const ids: string[] = [];
  const probe = new MetricsProbe(ctx.apiUrl).start();
  const submit = await runLoad({
    url: ctx.apiUrl,
    connections: load.connections,
    amount: load.amount,
    duration: load.duration,
    overallRate: load.rate,
    next: placeOrderRequest(ctx.tokens, ctx.products),
    onResponse: collectOrderIds(ids),
  });
  const settle = await ctx.db.waitSettled(ids, ctx.stallSeconds, ctx.settleTimeoutSeconds);
  const api = await probe.stop();
  const stats = await ctx.db.orderStats(ids);
  const ordersPerSecond =
    settle.incomplete === undefined && stats.spanSeconds ? stats.orders / stats.spanSeconds : null;
  return { submit, settle, stats, ordersPerSecond, api };
}

/**
 * A burst of `orders` submitted as fast as the API takes them (64 connections), waited on until all
 * settle; then, if the saga runs at all, a steady `rate` orders/s for `duration` seconds.
 */
export async function runEndToEnd(
  ctx: Context,
  run: { label: string; workers: number; orders: number; rate: number; duration: number },
): Promise<EndToEndRun> {
  const burst = await phase(ctx, { connections: 64, amount: run.orders });
  if (burst.settle.incomplete === 'saga-not-running') {
    return { label: run.label, workers: run.workers, burst };
  }
  const steady = await phase(ctx, { connections: 32, duration: run.duration, rate: run.rate });
  return { label: run.label, workers: run.workers, burst, steady: { ...steady, rate: run.rate } };
}
