import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { prepareDatabase } from '../../../src/bootstrap';
import { DEFAULT_REDIS_URL, loadConfig } from '../../../src/config/config';
import { TokenService } from '../../../src/modules/auth/token.service';
import { hashPassword } from '../../../src/modules/auth/password-hasher';
import { createDataSource } from '../../../src/platform/database/data-source';
import {
  createRedisConnection,
  queueKeyPrefix,
  RedisClient,
} from '../../../src/platform/redis/redis-connection';
import { createProduct, CreatedProduct, ProductOverrides } from '../../factories/product.factory';
import { databaseUrlFor, dropDatabase } from '../../support/test-database';
import { deleteClusterKeys } from './own-redis';
import { ServiceProcess, ServiceRole } from './service-process';

/** Settings every chaos process gets: short timers so recovery happens in seconds, quiet gateway. */
export const CHAOS_BASE_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  SEED_DEMO: 'false',
  JWT_SECRET: 'chaos-secret-chaos-secret-chaos-secret-0123456789',
  JWT_ACCESS_TTL_SECONDS: '86400',
  RATE_LIMIT_PER_MINUTE: '0',
  PAYMENT_SUCCESS_RATE: '1',
  PAYMENT_TRANSIENT_FAILURE_RATE: '0',
  PAYMENT_LATENCY_MIN_MS: '2',
  PAYMENT_LATENCY_MAX_MS: '20',
  PAYMENT_GATEWAY_RATE_PER_SECOND: '10000',
  PAYMENT_GATEWAY_BURST: '10000',
  // The breaker timeout also sets the lease after which a crashed worker's charge attempt is retried (2x).
  PAYMENT_BREAKER_TIMEOUT_MS: '1000',
  NOTIFICATION_SUCCESS_RATE: '1',
  NOTIFICATION_USER_HOURLY_LIMIT: '0',
  // Retries span longer than the charge lease (2 s), so a retry finds a dead worker's attempt reclaimable.
  QUEUE_BACKOFF_DELAY_MS: '300',
  QUEUE_LOCK_DURATION_MS: '3000',
  QUEUE_STALLED_INTERVAL_MS: '1000',
  OUTBOX_POLL_INTERVAL_MS: '200',
  OUTBOX_RETRY_BASE_DELAY_MS: '100',
  OUTBOX_RETRY_MAX_DELAY_MS: '2000',
  SAGA_STALL_SECONDS: '2',
  SAGA_RECOVERY_INTERVAL_MS: '500',
  RESERVATION_EXPIRY_INTERVAL_MS: '1000',
  QUEUE_METRICS_INTERVAL_MS: '1000',
  SHUTDOWN_TIMEOUT_MS: '5000',
};

/** The final order states a saga settles in (the chaos scenarios never ship or refund by hand). */
export const SETTLED_STATUSES = ['CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED'];

export interface ChaosUser {
  id: string;
  email: string;
  token: string;
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
  ms: number;
}

/** Ports 3400–3489 are this suite's processes' (3490–3499 are for its own PostgreSQL clusters). */
let nextPort = 3400 + Math.floor(Math.random() * 40);

/**
 * One scenario's world: its own database (created and migrated like production) and queue prefix, the
 * processes it spawns, and a client that places orders over real HTTP.
 */
export class ChaosEnv {
  readonly databaseUrl: string;
  readonly queuePrefix: string;
  readonly processes: ServiceProcess[] = [];
  ds!: DataSource;
  private readonly tokens: TokenService;
  private spawned = 0;

  constructor(
    readonly name: string,
    readonly env: Record<string, string> = {},
    /** Another PostgreSQL server (a cluster of the scenario's own); the shared one by default. */
    server?: string,
  ) {
    const suffix = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
    this.databaseUrl = databaseUrlFor(`aop_chaos_${name.replace(/\W/g, '_')}_${suffix}`, server);
    this.queuePrefix = `{aop-chaos-${name}-${suffix}}`;
    this.tokens = new TokenService(loadConfig({ ...CHAOS_BASE_ENV, ...env }));
  }

  async setUp(): Promise<this> {
    await prepareDatabase(loadConfig({ ...process.env, ...this.processEnv() }));
    this.ds = await createDataSource(
      { database: { url: this.databaseUrl, poolSize: 5 } },
      'chaos-test',
    ).initialize();
    return this;
  }

  /** Stops every process it started (by PID), drops its database and deletes its Redis keys. */
  async tearDown(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
    await this.ds?.destroy().catch(() => undefined);
    if (process.env.KEEP_TEST_DATABASE !== 'true') {
      await dropDatabase(this.databaseUrl);
    }
    await deleteRedisKeys(this.queuePrefix, this.redisEnv());
  }

  processEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...CHAOS_BASE_ENV,
      DATABASE_URL: this.databaseUrl,
      QUEUE_PREFIX: this.queuePrefix,
      ...this.redisEnv(),
      ...this.env,
      ...extra,
    };
  }

  /**
   * The Redis this scenario's processes use: the CHAOS_REDIS=cluster profile's cluster, unless the
   * scenario chose its own Redis (any REDIS_* mode variable in its env).
   */
  redisEnv(): Record<string, string> {
    const own = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].some((v) => v in this.env);
    const seeds = process.env.CHAOS_REDIS_CLUSTER_NODES;
    if (own) {
      return { REDIS_URL: '', REDIS_SENTINELS: '', REDIS_CLUSTER_NODES: '', ...pick(this.env, /^REDIS_/) };
    }
    return seeds ? { REDIS_URL: '', REDIS_SENTINELS: '', REDIS_CLUSTER_NODES: seeds } : {};
  }

  /** A connection to this scenario's Redis, made by the service's own factory (any mode). */
  redisConnection(): RedisClient {
    return createRedisConnection(loadConfig({ ...process.env, ...this.redisEnv() }).redis, 'blocking');
  }

  /** BullMQ's prefix of `queue` for this scenario (a hash tag per queue on a cluster). */
  queuePrefixOf(queue: string): string {
    return queueKeyPrefix(
      this.queuePrefix,
      queue,
      loadConfig({ ...process.env, ...this.redisEnv() }).redis.mode,
    );
  }

  /** A new (not yet started) process of this scenario. */
  process(role: ServiceRole, extra: Record<string, string> = {}): ServiceProcess {
    const port = String(takePort());
    const proc = new ServiceProcess(
      `${this.name}-${role}-${++this.spawned}`,
      role,
      this.processEnv({ PORT: port, HOST: '127.0.0.1', ...extra }),
    );
    this.processes.push(proc);
    return proc;
  }

  start(role: ServiceRole, extra: Record<string, string> = {}): Promise<ServiceProcess> {
    return this.process(role, extra).start();
  }

  urlOf(api: ServiceProcess): string {
    return `http://127.0.0.1:${api.env.PORT}`;
  }

  async createUsers(count: number): Promise<ChaosUser[]> {
    const hash = await hashPassword('Password123!');
    const emails = Array.from({ length: count }, () => `chaos-${randomBytes(6).toString('hex')}@example.com`);
    const rows = await this.ds.query<{ id: string; email: string }[]>(
      `INSERT INTO users (email, password_hash, first_name, last_name, role)
       SELECT e, $2, 'Chaos', 'Monkey', 'customer' FROM unnest($1::text[]) AS e RETURNING id, email`,
      [emails, hash],
    );
    return rows.map((r) => ({
      ...r,
      token: this.tokens.signAccessToken({ id: r.id, email: r.email, role: 'customer' }),
    }));
  }

  async createAdmin(): Promise<ChaosUser> {
    const [row] = await this.ds.query<{ id: string; email: string }[]>(
      `SELECT id, email FROM users WHERE role = 'admin' ORDER BY created_at LIMIT 1`,
    );
    return { ...row, token: this.tokens.signAccessToken({ ...row, role: 'admin' }) };
  }

  createProduct(overrides: ProductOverrides): Promise<CreatedProduct> {
    return createProduct(this.ds, overrides);
  }

  /** POST /api/v1/orders; never hangs longer than `timeoutMs` (a network error is status 0). */
  async placeOrder(
    api: ServiceProcess | string,
    user: ChaosUser,
    body: Record<string, unknown>,
    options: { idempotencyKey?: string; timeoutMs?: number } = {},
  ): Promise<HttpAnswer> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${user.token}`,
      'content-type': 'application/json',
    };
    if (options.idempotencyKey) {
      headers['idempotency-key'] = options.idempotencyKey;
    }
    return this.request(api, 'POST', '/api/v1/orders', { headers, body, timeoutMs: options.timeoutMs });
  }

  async request(
    api: ServiceProcess | string,
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
  ): Promise<HttpAnswer> {
    const base = typeof api === 'string' ? api : this.urlOf(api);
    const started = performance.now();
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: options.headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        body = { text };
      }
      return { status: res.status, body, headers: res.headers, ms: performance.now() - started };
    } catch (error) {
      return {
        status: 0,
        body: { error: (error as Error).name, message: (error as Error).message },
        headers: new Headers(),
        ms: performance.now() - started,
      };
    }
  }

  /** Orders (of the given ids, or all) not yet in a final state with a finished saga. */
  async unsettled(orderIds?: string[]): Promise<{ id: string; status: string; saga: string | null }[]> {
    return this.ds.query(
      `SELECT o.id, o.status, s.status AS saga FROM orders o LEFT JOIN saga_state s ON s.order_id = o.id
       WHERE ($1::uuid[] IS NULL OR o.id = ANY($1::uuid[]))
         AND (o.status <> ALL($2::text[]) OR s.status IS DISTINCT FROM
              CASE WHEN o.status = 'CONFIRMED' THEN 'COMPLETED' ELSE 'COMPENSATED' END)`,
      [orderIds ?? null, SETTLED_STATUSES],
    );
  }

  /** The recovery window: polls until every order settled, or the window closes (returns what is left). */
  async recover(windowMs: number, orderIds?: string[]): Promise<{ ms: number; left: number }> {
    const started = Date.now();
    let left = await this.unsettled(orderIds);
    while (left.length > 0 && Date.now() - started < windowMs) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      left = await this.unsettled(orderIds);
    }
    return { ms: Date.now() - started, left: left.length };
  }
}

function takePort(): number {
  const port = nextPort;
  nextPort = nextPort >= 3489 ? 3400 : nextPort + 1;
  return port;
}

function pick(env: Record<string, string>, name: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => name.test(key)));
}

/** Deletes a prefix's keys from the standalone Redis, or from every master of a cluster (`redisEnv`). */
export async function deleteRedisKeys(prefix: string, redisEnv: Record<string, string> = {}): Promise<void> {
  if (redisEnv.REDIS_CLUSTER_NODES) {
    const cluster = createRedisConnection(loadConfig({ ...redisEnv, NODE_ENV: 'test' }).redis, 'blocking');
    try {
      await deleteClusterKeys(cluster as Cluster, prefix);
    } finally {
      cluster.disconnect();
    }
    return;
  }
  if (redisEnv.REDIS_SENTINELS) {
    return; // A scenario's own Sentinel topology goes away with its keys.
  }
  // The standalone server itself, not a scenario's proxy in front of it (stopped by then).
  const redis = new Redis(process.env.REDIS_URL || DEFAULT_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        await redis.del(...keys);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
