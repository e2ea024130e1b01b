import autocannon from 'autocannon';

export interface LoadResult {
  connections: number;
  seconds: number;
  requests: number;
  ok: number;
  /** 2xx responses per second. */
  rps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

export interface LoadSpec {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  overallRate?: number;
  /** Builds each request afresh (unique keys, random users and products). */
  next: () => { method: string; path: string; headers: Record<string, string>; body?: string };
  /** Sees every response body, e.g. to collect order ids. */
  onResponse?: (status: number, body: string) => void;
}

const percentile = (sorted: Float64Array, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** One autocannon run; latencies are kept here too, since autocannon reports no p95. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        // autocannon refuses keys that are present but undefined.
        ...(spec.duration !== undefined ? { duration: spec.duration } : {}),
        ...(spec.amount !== undefined ? { amount: spec.amount } : {}),
        ...(spec.overallRate !== undefined ? { overallRate: spec.overallRate } : {}),
        timeout: 30,
        requests: [
          {
            setupRequest: (request) => ({ ...request, ...spec.next() }),
            onResponse: spec.onResponse ? (status, body) => spec.onResponse!(status, body) : undefined,
          },
        ],
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const sorted = Float64Array.from(latencies).sort();
        const ok = result['2xx'];
        resolve({
          connections: spec.connections,
          seconds: result.duration,
          requests: result.requests.total,
          ok,
          rps: ok / result.duration,
          latencyMs: {
            p50: percentile(sorted, 50),
            p95: percentile(sorted, 95),
            p99: percentile(sorted, 99),
            max: sorted.length ? sorted[sorted.length - 1] : 0,
          },
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
    });
  });
}
