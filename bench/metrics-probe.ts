/**
 * Scrapes the api's /metrics once a second during a load phase. prom-client resets its event-loop
 * histogram at each scrape, so every sample is the lag over the last second.
 */
export interface ProbeSummary {
  samples: number;
  /** nodejs_eventloop_lag_p99_seconds, ms: worst and median of the per-second samples. */
  eventLoopP99MaxMs: number | null;
  eventLoopP99MedianMs: number | null;
  /** aop_db_pool_waiting_requests: the most queries seen queued for a pool connection. */
  poolWaitingMax: number | null;
  /** process_resident_memory_bytes, MiB: the largest sample. */
  rssMaxMiB: number | null;
  /** Medians of the first and the last minute of RSS samples (a quarter of them in phases under 4 minutes): growth. */
  rssStartMiB: number | null;
  rssEndMiB: number | null;
}

/** The METRICS_TOKEN the bench gives its production-mode processes (required there). */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-not-secret';

const METRICS = {
  lag: 'nodejs_eventloop_lag_p99_seconds',
  waiting: 'aop_db_pool_waiting_requests',
  rss: 'process_resident_memory_bytes',
} as const;

function read(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

export class MetricsProbe {
  private readonly lag: number[] = [];
  private readonly waiting: number[] = [];
  private readonly rss: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly baseUrl: string) {}

  start(intervalMs = 1000): this {
    // A first scrape resets the histogram so the samples only cover the phase.
    void this.scrape(false);
    this.timer = setInterval(() => {
      this.inFlight ??= this.scrape(true).finally(() => (this.inFlight = undefined));
    }, intervalMs);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<ProbeSummary> {
    clearInterval(this.timer);
    await this.inFlight;
    const median = (values: number[]): number | null => {
      if (values.length === 0) {
        return null;
      }
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)];
    };
    const max = (values: number[]): number | null => (values.length ? Math.max(...values) : null);
    const window = Math.max(1, Math.min(60, Math.floor(this.rss.length / 4)));
    return {
      samples: this.lag.length,
      eventLoopP99MaxMs: max(this.lag),
      eventLoopP99MedianMs: median(this.lag),
      poolWaitingMax: max(this.waiting),
      rssMaxMiB: max(this.rss),
      rssStartMiB: median(this.rss.slice(0, window)),
      rssEndMiB: median(this.rss.slice(-window)),
    };
  }

  private async scrape(record: boolean): Promise<void> {
    try {
      const response = await fetch(`${this.baseUrl}/metrics`, {
        headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` },
        signal: AbortSignal.timeout(5000),
      });
      const text = await response.text();
      if (!record) {
        return;
      }
      const lag = read(text, METRICS.lag);
      const waiting = read(text, METRICS.waiting);
      const rss = read(text, METRICS.rss);
      if (lag !== undefined) {
        this.lag.push(lag * 1000);
      }
      if (waiting !== undefined) {
        this.waiting.push(waiting);
      }
      if (rss !== undefined) {
        this.rss.push(rss / 1024 / 1024);
      }
    } catch {
      // A missed sample under load is itself information; the summary's sample count shows it.
    }
  }
}

export interface PaymentCounters {
  /** Payment jobs that failed and will run again (an attempt spent). */
  retried: number;
  /** Payment jobs put back without spending an attempt (open circuit, or a pacing wait too long). */
  delayed: number;
  /** Gateway calls answered 429. */
  rateLimited: number;
}

/** Sums the payment counters of every process serving /metrics at these URLs (missing ones count 0). */
export async function scrapePaymentCounters(urls: string[]): Promise<PaymentCounters> {
  const total: PaymentCounters = { retried: 0, delayed: 0, rateLimited: 0 };
  for (const url of urls) {
    try {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      for (const line of text.split('\n')) {
        const value = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (line.startsWith('aop_jobs_total{') && line.includes('queue="payment-processing"')) {
          if (line.includes('outcome="retried"')) {
            total.retried += value;
          } else if (line.includes('outcome="delayed"')) {
            total.delayed += value;
          }
        } else if (line.startsWith('aop_payment_gateway_rate_limited_total ')) {
          total.rateLimited += value;
        }
      }
    } catch {
      // A process that does not answer adds nothing; the figures say "at least".
    }
  }
  return total;
}
