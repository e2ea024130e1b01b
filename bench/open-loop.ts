import { Agent, request } from 'node:http';
import { HttpRequestSpec } from './workload';
import { LoadResult } from './load';

/**
 * Open-loop load: requests leave on a fixed schedule whether or not earlier ones were answered, and
 * each latency is measured from the moment its request was due, so a stall is not hidden by the load
 * generator waiting for it (no coordinated omission). autocannon's rate is closed-loop per connection.
 */
export async function runOpenLoop(spec: {
  url: string;
  ratePerSecond: number;
  seconds: number;
  next: () => HttpRequestSpec;
}): Promise<LoadResult & { offeredRate: number }> {
  const target = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  const total = Math.round(spec.ratePerSecond * spec.seconds);
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();

  const fire = (dueAt: number): void => {
    const { method, path, headers, body } = spec.next();
    const done = new Promise<void>((resolve) => {
      const req = request(
        { host: target.hostname, port: target.port, method, path, headers, agent, timeout: 30_000 },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - dueAt);
            if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
              ok += 1;
            } else {
              non2xx += 1;
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  // A tick every 5 ms sends every request due by then: steady to the millisecond, cheap to run.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      while (sent < total && started + (sent * 1000) / spec.ratePerSecond <= now) {
        fire(started + (sent * 1000) / spec.ratePerSecond);
        sent += 1;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  await Promise.all(inFlight);
  agent.destroy();
  const seconds = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const percentile = (p: number): number =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return {
    connections: 0,
    seconds,
    requests: sent,
    ok,
    rps: ok / seconds,
    offeredRate: spec.ratePerSecond,
    latencyMs: { p50: percentile(50), p95: percentile(95), p99: percentile(99), max: percentile(100) },
    non2xx,
    errors,
    timeouts: 0,
  };
}
