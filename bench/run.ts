/**
 * `npm run bench`: builds, seeds a throw-away database, starts the service the production way
 * (compiled JS, NODE_ENV=production, ROLE=api + ROLE=worker processes) and measures it against
 * pgbench running the very statement the API runs. `npm run bench -- --help` lists the options.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { BenchDatabase } from './database';
import { CounterReading, CpuReading, runEndToEnd } from './e2e';
import { runOpenLoop } from './open-loop';
import { OwnRedis } from './own-redis';
import { PgRoundTripCounter } from './pg-round-trips';
import { runLoad } from './load';
import { BENCH_METRICS_TOKEN, MetricsProbe } from './metrics-probe';
import { adminListRequest, adminToken, deepCursors, seedOrders } from './million';
import { BenchOptions, parseOptions } from './options';
import { runPgbench } from './pgbench';
import { BenchResults, renderSoak, renderTable } from './report';
import { readCommandCpuSeconds, readCpuSeconds, ServiceProcess, ServiceRole } from './service';
import { runSoak, SOAK_ENV } from './soak';
import {
  HttpRequestSpec,
  mintTokens,
  orderStatusRequest,
  placeOrderRequest,
  productListRequest,
} from './workload';

const ROOT = resolve(__dirname, '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * What each kind of figure runs with. Everything not named here is a production default: LOG_LEVEL=info,
 * the per-user rate limit, the mock gateway's latency (100–2000 ms), rate limit (100/s) and outcomes
 * (80% succeed, 15% fail once first), the queues' limiters, the mock mailer's 95% success.
 */
type Settings = 'production' | 'latency0' | 'paced';
const SETTINGS_ENV: Record<Settings, Record<string, string>> = {
  production: {},
  // "Gateway latency 0": the saga's own cost, with a gateway that is never the bottleneck.
  latency0: {
    PAYMENT_LATENCY_MIN_MS: '0',
    PAYMENT_LATENCY_MAX_MS: '0',
    PAYMENT_SUCCESS_RATE: '1',
    PAYMENT_TRANSIENT_FAILURE_RATE: '0',
    PAYMENT_GATEWAY_RATE_PER_SECOND: '1000000',
    PAYMENT_GATEWAY_BURST: '1000000',
    QUEUE_RATE_PAYMENT_PROCESSING: '0',
    QUEUE_RATE_NOTIFICATION_SENDING: '0',
  },
  // Issue 13 item 7: the gateway at its own limit, nobody else pacing for it.
  paced: {
    PAYMENT_LATENCY_MIN_MS: '0',
    PAYMENT_LATENCY_MAX_MS: '0',
    PAYMENT_SUCCESS_RATE: '1',
    PAYMENT_TRANSIENT_FAILURE_RATE: '0',
    QUEUE_RATE_PAYMENT_PROCESSING: '0',
  },
};
const SETTINGS_LABEL: Record<Settings, string> = {
  production: 'production defaults',
  latency0:
    'gateway latency 0: mock always succeeds at once, gateway and queue limits lifted; else production defaults',
  paced:
    'mock latency 0, always succeeds, its default limit 100/s; payment queue limiter off; else production defaults',
};

class Bench {
  readonly id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  readonly stamp = new Date().toISOString().replace(/[:.]/g, '-');
  readonly dbName = `aop_bench_${this.id}`;
  readonly prefix = `{aop-bench-${this.id}}`;
  readonly logDir = join(RESULTS_DIR, 'logs', this.stamp);
  readonly jwtSecret = randomBytes(48).toString('base64url');
  readonly processes = new Set<ServiceProcess>();
  readonly memory: BenchResults['memory'] = [];
  db: BenchDatabase | undefined;
  /** The database of the `fresh` phase (no past), dropped at clean-up. */
  readonly freshDbName = `aop_bench_${this.id}_fresh`;
  freshDb: BenchDatabase | undefined;
  redis: OwnRedis | undefined;
  pgProxy: PgRoundTripCounter | undefined;
  private cleaned = false;

  get redisUrl(): string {
    return this.redis?.url ?? SHARED_REDIS_URL;
  }

  /** The database the service processes use right now (the `fresh` phase switches it). */
  current: BenchDatabase | undefined;

  constructor(readonly options: BenchOptions) {}

  /** Production defaults: only what a deployment must set (secrets, addresses) and the bench's own seed. */
  serviceEnv(poolSize: number): Record<string, string> {
    const db = this.current ?? this.db!;
    // Through the counting proxy when round trips are counted: same server, same database.
    const url = this.pgProxy ? `postgres://postgres@127.0.0.1:${this.pgProxy.port}/${db.name}` : db.url;
    return {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATABASE_URL: url,
      DATABASE_POOL_SIZE: String(poolSize),
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: this.prefix,
      JWT_SECRET: this.jwtSecret,
      ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
      PAYMENT_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      // The bench seeds its own catalogue and customers.
      SEED_DEMO: 'false',
      ...this.options.env,
    };
  }

  start(
    name: string,
    role: ServiceRole,
    port: number,
    poolSize: number,
    extraEnv: Record<string, string> = {},
    profile = false,
  ): ServiceProcess {
    const service = ServiceProcess.start({
      name,
      role,
      port,
      env: { ...this.serviceEnv(poolSize), ...extraEnv },
      cwd: ROOT,
      logDir: this.logDir,
      nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`] : [],
    });
    this.processes.add(service);
    return service;
  }

  /** Fails the run when a service process died on its own (or was killed from outside). */
  assertAlive(): void {
    for (const p of this.processes) {
      p.sampleMemory();
      if (p.exit) {
        throw new Error(
          `${p.name} (pid ${p.pid}) exited during the run: ${JSON.stringify(p.exit)}; last log lines:\n${p.logTail()}`,
        );
      }
    }
  }

  async stop(service: ServiceProcess): Promise<void> {
    await service.stop();
    this.processes.delete(service);
    if (service.memory) {
      // A role restarted between phases keeps one entry: the highest peak of its runs.
      const known = this.memory.find((m) => m.process === service.name);
      if (!known) {
        this.memory.push({ process: service.name, pid: service.pid, ...service.memory });
      } else if (service.memory.peakRssMiB > known.peakRssMiB) {
        Object.assign(known, { pid: service.pid, ...service.memory });
      }
    }
  }

  /** Worker processes have no HTTP: each is ready once its outbox relay LISTENs. */
  async startWorkers(count: number, env: Record<string, string> = {}): Promise<ServiceProcess[]> {
    const workers = Array.from({ length: count }, (_, i) =>
      this.start(
        `worker-${i + 1}-of-${count}`,
        'worker',
        this.options.basePort + 10 + i,
        this.options.workerPoolSize,
        { ...env, WORKER_METRICS_PORT: String(this.options.basePort + 20 + i) },
        this.options.cpuProf,
      ),
    );
    const listening = async (): Promise<boolean> => {
      const [row] = await (this.current ?? this.db!).query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'aop-outbox-listener'`,
        [(this.current ?? this.db!).name],
      );
      return row.n >= count;
    };
    try {
      await Promise.all(workers.map((w) => w.waitReady(listening)));
    } catch (error) {
      for (const w of workers) {
        await this.stop(w);
      }
      throw error;
    }
    return workers;
  }

  /** Between end-to-end runs: no order, outbox row or queued job of an earlier phase survives. */
  async resetState(): Promise<void> {
    await (this.current ?? this.db!).resetOrders();
    await this.deleteRedisKeys();
  }

  async deleteRedisKeys(): Promise<void> {
    const redis = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) {
          await redis.del(...keys);
        }
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) {
      return;
    }
    this.cleaned = true;
    await Promise.all([...this.processes].map((p) => this.stop(p).catch(() => undefined)));
    await this.db?.close().catch(() => undefined);
    await this.freshDb?.close().catch(() => undefined);
    await this.pgProxy?.stop().catch(() => undefined);
    if (this.options.keep) {
      console.log(`kept database ${this.dbName} and Redis keys ${this.prefix}*`);
      await this.redis?.stop();
      return;
    }
    for (const name of [this.dbName, this.freshDbName]) {
      await BenchDatabase.drop(name).catch((e: unknown) => console.error(`could not drop ${name}:`, e));
    }
    if (this.redis) {
      await this.redis.stop();
    } else {
      await this.deleteRedisKeys().catch((e: unknown) => console.error('could not delete Redis keys:', e));
    }
  }

  /** CPU seconds so far: api, workers (summed), every postgres process, this database's backends, our Redis. */
  async cpu(api: ServiceProcess, workers: ServiceProcess[]): Promise<CpuReading> {
    const db = this.current ?? this.db!;
    const sum = (pids: number[]): number | undefined =>
      pids.reduce<number | undefined>((total, pid) => {
        const used = readCpuSeconds(pid);
        return total === undefined || used === undefined ? undefined : total + used;
      }, 0);
    const backends = await db.backendPids();
    return {
      api: readCpuSeconds(api.pid),
      workers: sum(workers.map((w) => w.pid)),
      postgres: readCommandCpuSeconds('postgres'),
      // Backends that exit during a phase take their CPU with them; the service's pools keep theirs.
      postgresBackends: backends.reduce((total, pid) => total + (readCpuSeconds(pid) ?? 0), 0),
      redis: this.redis ? readCpuSeconds(this.redis.pid) : undefined,
    };
  }

  async counters(): Promise<CounterReading> {
    return {
      roundTrips: this.pgProxy?.roundTrips,
      redisCommands: this.redis ? await this.redis.commandsProcessed() : undefined,
      redisCommandStats: this.redis ? await this.redis.commandStats() : undefined,
    };
  }
}

async function machineInfo(): Promise<BenchResults['machine']> {
  const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const info = await redis.info('server');
  redis.disconnect();
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    postgres: await BenchDatabase.serverVersion(),
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function step(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function measure(bench: Bench, results: BenchResults): Promise<void> {
  const o = bench.options;
  const phases = o.phases;
  if (phases.has('pgbench')) {
    step(`pgbench: ${o.pgbenchClients} clients, ${o.duration} s`);
    results.pgbench = await runPgbench({
      database: bench.dbName,
      users: o.users,
      products: o.products,
      clients: o.pgbenchClients,
      seconds: o.duration,
      mode: 'prepared',
      workDir: bench.logDir,
    });
    await bench.db!.resetOrders();
  }

  const tokens = mintTokens(bench.jwtSecret, o.users);
  const startApi = async (
    name: string,
    role: ServiceRole,
    env: Record<string, string> = {},
  ): Promise<ServiceProcess> => {
    const api = bench.start(name, role, o.basePort, o.apiPoolSize, env, o.cpuProf);
    await api.waitHttpReady();
    return api;
  };
  const http = async (
    api: ServiceProcess,
    name: string,
    connections: number,
    next: () => HttpRequestSpec,
    settings: string,
    seconds = o.duration,
  ): Promise<void> => {
    step(`${name}: ${connections} connections, ${seconds} s`);
    const probe = new MetricsProbe(api.url).start();
    const cpuBefore = readCpuSeconds(api.pid);
    const load = await runLoad({ url: api.url, connections, duration: seconds, next });
    const cpuAfter = readCpuSeconds(api.pid);
    bench.assertAlive();
    results.http.push({
      name,
      settings,
      load,
      api: await probe.stop(),
      apiCpuMsPerRequest: perRequest(cpuBefore, cpuAfter, load.requests),
    });
  };

  if (phases.has('post') || phases.has('open-loop') || phases.has('get')) {
    let api = await startApi('api', 'api');
    await checkToken(api, tokens[0]);
    step(`${api.name} ready (pid ${api.pid})`);
    const settings = `${SETTINGS_LABEL.production} (LOG_LEVEL=info, per-user rate limit on), no worker`;
    if (phases.has('post')) {
      for (const connections of o.memory ? [64] : [16, 64]) {
        await http(api, 'POST /orders', connections, placeOrderRequest(tokens, o.products), settings);
      }
    }
    if (phases.has('open-loop')) {
      step(`POST /orders: open loop, ${o.openLoopRate} req/s offered, ${o.duration} s`);
      const probe = new MetricsProbe(api.url).start();
      const cpuBefore = readCpuSeconds(api.pid);
      const load = await runOpenLoop({
        url: api.url,
        ratePerSecond: o.openLoopRate,
        seconds: o.duration,
        next: placeOrderRequest(tokens, o.products),
      });
      bench.assertAlive();
      results.http.push({
        name: 'POST /orders',
        settings,
        offeredRate: o.openLoopRate,
        load,
        api: await probe.stop(),
        apiCpuMsPerRequest: perRequest(cpuBefore, readCpuSeconds(api.pid), load.requests),
      });
    }
    if (phases.has('get')) {
      let orders = await bench.db!.sampleOrders(5000);
      if (orders.length === 0) {
        await runLoad({
          url: api.url,
          connections: 16,
          amount: 2000,
          next: placeOrderRequest(tokens, o.products),
        });
        orders = await bench.db!.sampleOrders(5000);
      }
      // Reads are not the bottleneck: half the duration keeps the default profile short.
      const readSeconds = Math.max(1, Math.ceil(o.duration / 2));
      await http(
        api,
        'GET /orders/:id/status',
        64,
        orderStatusRequest(tokens, orders),
        settings,
        readSeconds,
      );
      // The catalogue is read anonymously, so the limit is per IP, and all the load comes from one IP.
      await bench.stop(api);
      api = await startApi('api', 'api', { RATE_LIMIT_PER_MINUTE: '0' });
      await http(
        api,
        'GET /products',
        64,
        productListRequest(),
        'production defaults but the rate limit off (anonymous reads are limited per IP; the load has one IP)',
        readSeconds,
      );
    }
    await bench.stop(api);
  }

  /** One end-to-end figure: an api (or ROLE=all) process and `workerCount` workers, each phase on a clean slate. */
  const endToEnd = async (figure: {
    label: string;
    settings: Settings;
    workers: number;
    all?: boolean;
    atRest?: boolean;
    burstOrders?: number;
    burstSettleSeconds?: number;
    steadyRates?: number[];
  }): Promise<boolean> => {
    const env = SETTINGS_ENV[figure.settings];
    let api = await startApi(figure.all ? 'all' : 'api', figure.all ? 'all' : 'api', figure.all ? env : {});
    let workers: ServiceProcess[] = [];
    const freshStart = async (): Promise<void> => {
      if (figure.all) {
        await bench.stop(api);
        await bench.resetState();
        api = await startApi('all', 'all', env);
        return;
      }
      for (const w of workers) {
        await bench.stop(w);
      }
      workers = [];
      await bench.resetState();
      workers = await bench.startWorkers(figure.workers, env);
    };
    try {
      try {
        await freshStart();
      } catch (error) {
        // Before the saga landed, the worker refused to start with unwired job handlers: nothing to measure.
        if (error instanceof Error && error.message.includes('Job handlers are not wired')) {
          results.notes.push(
            `end to end skipped: the worker does not start in this build (${error.message.split('\n')[2]?.trim()} …)`,
          );
          return false;
        }
        throw error;
      }
      step(`end to end, ${figure.label} [${figure.settings}]`);
      const run = await runEndToEnd(
        {
          apiUrl: api.url,
          db: bench.current ?? bench.db!,
          tokens,
          products: o.products,
          stallSeconds: o.stallSeconds,
          settleTimeoutSeconds: o.settleTimeoutSeconds,
          steadySettleSeconds: o.steadySettleSeconds,
          assertAlive: () => bench.assertAlive(),
          freshStart,
          workerUrls: workers.map((_, i) => `http://127.0.0.1:${o.basePort + 20 + i}`),
          cpu: () => bench.cpu(api, workers),
          counters: () => bench.counters(),
        },
        {
          label: figure.label,
          workers: figure.workers,
          settings: SETTINGS_LABEL[figure.settings],
          atRest: figure.atRest ?? false,
          burstOrders: figure.burstOrders,
          burstSettleSeconds: figure.burstSettleSeconds,
          steadyRates: figure.steadyRates ?? [],
          duration: o.duration,
        },
      );
      bench.assertAlive();
      results.endToEnd.push(run);
      if (run.atRest?.settle.incomplete === 'saga-not-running') {
        results.notes.push(
          'end to end: no order left PENDING, so the order saga is not running in this build; skipped the rest',
        );
        return false;
      }
      return true;
    } finally {
      for (const w of workers) {
        await bench.stop(w);
      }
      await bench.stop(api);
    }
  };

  // A slow gateway's backlog drains at its pace: wait for it as long as the orders need at 0.5 x its limit.
  const gatewaySettleSeconds = Math.max(o.settleTimeoutSeconds, Math.ceil(o.gatewayOrders / 50));
  let sagaRuns = true;
  if (phases.has('e2e')) {
    for (const count of o.all ? [0] : o.workers) {
      sagaRuns &&= await endToEnd({
        label: o.all ? 'ROLE=all' : `${count} worker${count > 1 ? 's' : ''}`,
        settings: 'latency0',
        workers: count,
        all: o.all,
        atRest: true,
        burstOrders: o.orders,
      });
    }
  }
  if (sagaRuns && phases.has('steady')) {
    sagaRuns = await endToEnd({ label: '1 worker', settings: 'latency0', workers: 1, steadyRates: o.rates });
  }
  if (sagaRuns && phases.has('pacing')) {
    sagaRuns = await endToEnd({
      label: '1 worker, gateway limited to 100/s',
      settings: 'paced',
      workers: 1,
      burstOrders: o.gatewayOrders,
      burstSettleSeconds: gatewaySettleSeconds,
    });
  }
  if (sagaRuns && phases.has('gateway')) {
    sagaRuns = await endToEnd({
      label: '1 worker, default mock gateway (100–2000 ms, 100/s)',
      settings: 'production',
      workers: 1,
      burstOrders: o.gatewayOrders,
      burstSettleSeconds: gatewaySettleSeconds,
    });
  }
  if (sagaRuns && phases.has('all')) {
    sagaRuns = await endToEnd({
      label: 'ROLE=all (one process, as npm start)',
      settings: 'latency0',
      workers: 0,
      all: true,
      burstOrders: o.orders,
    });
    // POST /orders as npm start serves it: the saga runs in the same process, on the same event loop.
    await bench.resetState();
    const all = await startApi('all', 'all', SETTINGS_ENV.latency0);
    try {
      await http(
        all,
        'POST /orders, ROLE=all (the saga in the same process)',
        64,
        placeOrderRequest(tokens, o.products),
        SETTINGS_LABEL.latency0,
      );
    } finally {
      await bench.stop(all);
    }
  }
  if (sagaRuns && phases.has('fresh')) {
    step(`database ${bench.freshDbName}: a new install (no past orders, never analysed)`);
    bench.freshDb = await BenchDatabase.create(bench.freshDbName, o.users, o.products, { history: false });
    bench.current = bench.freshDb;
    try {
      await endToEnd({
        label: '1 worker, fresh database (no past)',
        settings: 'latency0',
        workers: 1,
        burstOrders: o.orders,
      });
    } finally {
      bench.current = undefined;
    }
  }
  if (phases.has('soak')) {
    await bench.resetState();
    const soakEnv = { ...SETTINGS_ENV.latency0, ...SOAK_ENV };
    const api = await startApi('api', 'api', soakEnv);
    const [worker] = await bench.startWorkers(1, soakEnv);
    try {
      step(`soak: ${o.soakMinutes} min at ${o.soakRate} orders/s, retentions shortened`);
      results.soak = await runSoak(
        {
          apiUrl: api.url,
          db: bench.db!,
          next: placeOrderRequest(tokens, o.products),
          apiPid: api.pid,
          workerPid: worker.pid,
          assertAlive: () => bench.assertAlive(),
          log: step,
        },
        { minutes: o.soakMinutes, ratePerSecond: o.soakRate },
      );
      results.notes.push(...results.soak.notes);
    } finally {
      await bench.stop(worker);
      await bench.stop(api);
    }
  }
  // Last: the million orders stay in the database.
  if (phases.has('million')) {
    const db = bench.db!;
    step(`million: inserting ${o.millionOrders} orders`);
    await seedOrders(db, o.millionOrders, o.users, step);
    results.notes.push(
      `million: ${o.millionOrders} orders inserted in bulk, then VACUUM ANALYZE run by the harness (autovacuum is off on this machine)`,
    );
    const token = await adminToken(db, bench.jwtSecret);
    const cursors = await deepCursors(db, [0.5, 0.75, 0.9, 0.99]);
    const api = await startApi('api', 'api', { RATE_LIMIT_PER_MINUTE: '0' });
    const settings = `admin, ${o.millionOrders} orders in the table, rate limit off`;
    const seconds = Math.max(1, Math.ceil(o.duration / 2));
    try {
      const list = async (name: string, paths: string[], connections = 16): Promise<void> => {
        await http(api, name, connections, adminListRequest(token, paths), settings, seconds);
      };
      const keysetLists: [string, string[]][] = [
        ['GET /orders?limit=20 (first page)', ['/api/v1/orders?limit=20']],
        [
          'GET /orders?limit=20&cursor= (deep: 50-99 % down)',
          cursors.map((c) => `/api/v1/orders?limit=20&cursor=${c}`),
        ],
        ['GET /orders?status=SHIPPED&limit=20 (filtered)', ['/api/v1/orders?status=SHIPPED&limit=20']],
      ];
      // One operator paging through the console (1 connection: the request's own cost), then 16 at once
      // (the two cores queue them).
      for (const connections of [1, 16]) {
        for (const [name, paths] of keysetLists) {
          await list(name, paths, connections);
        }
        const keyset = results.http.slice(-keysetLists.length);
        const worst = Math.max(...keyset.map((h) => h.load.latencyMs.p99));
        results.notes.push(
          `million: p99 of the keyset pages at ${connections} connection(s) ${keyset.map((h) => h.load.latencyMs.p99.toFixed(1)).join(' / ')} ms (target < 50 ms: ${worst < 50 ? 'met' : 'NOT met'})`,
        );
      }
      await list(
        'GET /orders?limit=20&page=<90 % down> (offset, for comparison)',
        [`/api/v1/orders?limit=20&page=${Math.max(1, Math.floor((o.millionOrders * 0.9) / 20))}`],
        4,
      );
    } finally {
      await bench.stop(api);
    }
  }
  if (o.cpuProf) {
    results.notes.push(
      `CPU profiles (api and workers, named by pid) written to ${join(RESULTS_DIR, 'profiles')}`,
    );
  }
}

function perRequest(before: number | undefined, after: number | undefined, requests: number): number | null {
  return before !== undefined && after !== undefined && requests > 0
    ? ((after - before) * 1000) / requests
    : null;
}

async function checkToken(api: ServiceProcess, token: string): Promise<void> {
  const profile = await fetch(`${api.url}/api/v1/users/profile`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!profile.ok) {
    throw new Error(
      `a minted token was refused (${profile.status}): the harness and the service disagree on JWTs`,
    );
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const bench = new Bench(options);
  mkdirSync(bench.logDir, { recursive: true });
  const onSignal = (): void => {
    console.error('interrupted: cleaning up');
    void bench.cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    label: options.label,
    profile: options.quick ? 'quick' : 'full',
    options: { ...options, phases: [...options.phases] },
    machine: await machineInfo(),
    http: [],
    endToEnd: [],
    memory: [],
    notes: [
      'event-loop lag: scraped once a second from the api /metrics and from each worker on WORKER_METRICS_PORT',
      'POST/GET phases run with no worker process (the api alone); end-to-end phases run api + workers',
      'every figure runs with production defaults unless its [settings] say what it lifts',
      options.sharedRedis
        ? "Redis: the machine's shared server (no Redis CPU or command counts: others use it too)"
        : "Redis: a redis-server of the bench's own, so its CPU and command counts are the service's alone",
      options.roundTrips
        ? 'PostgreSQL round trips counted by a proxy in the bench process (Query and Sync messages)'
        : 'PostgreSQL round trips not counted (--no-round-trips)',
      'PostgreSQL CPU: "our backends" are this database\'s connections; "all" is every postgres process on the machine',
    ],
  };
  let failed: unknown;
  try {
    if (!options.skipBuild) {
      step('npm run build');
      const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
      if (build.status !== 0) {
        throw new Error('npm run build failed');
      }
    }
    if (!options.sharedRedis) {
      bench.redis = await OwnRedis.start();
      step(`redis-server of our own on port ${bench.redis.port} (pid ${bench.redis.pid})`);
    }
    if (options.roundTrips) {
      bench.pgProxy = new PgRoundTripCounter();
      await bench.pgProxy.start();
    }
    step(`database ${bench.dbName}: ${options.products} products, ${options.users} users`);
    bench.db = await BenchDatabase.create(bench.dbName, options.users, options.products);
    await measure(bench, results);
  } catch (error) {
    failed = error;
    results.notes.push(`FAILED: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  } finally {
    step('cleaning up');
    await bench.cleanup();
  }
  results.memory = bench.memory;
  results.finishedAt = new Date().toISOString();
  // The memory run is committed (bench/results/memory-5min.json); other runs are git-ignored.
  const file = join(RESULTS_DIR, options.memory && !failed ? 'memory-5min.json' : `${bench.stamp}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const m = results.machine;
  console.log(
    `\n${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}; ` +
      `${results.profile} profile, ${options.duration} s per phase\n`,
  );
  console.log(renderTable(results));
  if (results.soak) {
    console.log(
      `\nsoak: ${results.soak.minutes} min at ${results.soak.ratePerSecond} orders/s\n${renderSoak(results.soak)}`,
    );
  }
  console.log(`\nresults: ${file}  (logs: ${bench.logDir})`);
  if (failed) {
    console.error(failed);
  }
  // Everything was stopped and closed above; a stray handle (an aborted load run) must not hang the shell.
  process.exit(failed ? 1 : 0);
}

void main();
