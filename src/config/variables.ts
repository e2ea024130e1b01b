/**
 * Every environment variable the service reads, declared once: name, type and bounds, default, group and
 * meaning. `loadConfig` reads the environment through this table and `npm run docs:config` writes
 * docs/configuration.md and .env.example from it, so the documentation cannot drift from the code.
 *
 * To add a variable: add an entry to the group it belongs to, read it in `loadConfig` as `v.NAME`, then run
 * `npm run docs:config`. Rules that involve several variables stay in `loadConfig`.
 */

declare const valueType: unique symbol;

interface Common {
  /** Section of docs/configuration.md and .env.example; groups appear in the order they are first used. */
  readonly group: string;
  /** One or two sentences: what it does, in the reader's terms. Markdown backticks are fine. */
  readonly description: string;
  /** Shown instead of the default where the default is computed at start-up or there is none. */
  readonly defaultText?: string;
  /** Its value is never written into .env.example. */
  readonly secret?: boolean;
  /** One of the ten variables people change first, listed in the README. */
  readonly common?: boolean;
  /** Must be set when NODE_ENV=production; the text, if any, is added to the start-up error. */
  readonly requiredInProduction?: string | true;
  /** A fault-injection hook: setting it when NODE_ENV=production stops start-up. */
  readonly refusedInProduction?: boolean;
}

export type VariableSpec = Common &
  (
    | { readonly kind: 'string'; readonly default?: string; readonly minBytes?: number }
    | { readonly kind: 'integer'; readonly default?: number; readonly min: number; readonly max?: number }
    | { readonly kind: 'number'; readonly default?: number; readonly min: number; readonly max: number }
    | { readonly kind: 'boolean'; readonly default?: boolean }
    | { readonly kind: 'oneOf'; readonly default?: string; readonly values: readonly string[] }
    | { readonly kind: 'url'; readonly default?: string; readonly protocols: readonly string[] }
  );

/** A declared variable whose value, once read, has type T (the tuple keeps `undefined` apart). */
export type Variable<T> = VariableSpec & { readonly [valueType]?: [T] };

type StringOptions = Common & { minBytes?: number };
type IntegerOptions = Common & { min: number; max?: number };
type NumberOptions = Common & { min: number; max: number };
type UrlOptions = Common & { protocols: readonly string[] };

const string = (o: StringOptions & { default: string }): Variable<string> => ({ kind: 'string', ...o });
const optionalString = (o: StringOptions): Variable<string | undefined> => ({ kind: 'string', ...o });
const integer = (o: IntegerOptions & { default: number }): Variable<number> => ({ kind: 'integer', ...o });
const optionalInteger = (o: IntegerOptions): Variable<number | undefined> => ({ kind: 'integer', ...o });
const number = (o: NumberOptions & { default: number }): Variable<number> => ({ kind: 'number', ...o });
const boolean = (o: Common & { default: boolean }): Variable<boolean> => ({ kind: 'boolean', ...o });
const oneOf = <T extends string>(values: readonly T[], o: Common & { default: T }): Variable<T> => ({
  kind: 'oneOf',
  values,
  ...o,
});
const url = (o: UrlOptions & { default: string }): Variable<string> => ({ kind: 'url', ...o });
const optionalUrl = (o: UrlOptions): Variable<string | undefined> => ({ kind: 'url', ...o });

const PROCESS = 'Process';
const POSTGRES = 'PostgreSQL';
const REDIS = 'Redis';
const QUEUES = 'Queues (BullMQ)';
const OUTBOX = 'Outbox relay (worker role)';
const AUTH = 'Accounts, tokens and rate limits';
const CATALOGUE = 'Catalogue and inventory';
const PAYMENTS = 'Payments (mock gateway and circuit breaker)';
const NOTIFICATIONS = 'Notifications';
const SAGA = 'Order saga';
const INVARIANTS = 'Invariant checker';
const OBSERVABILITY = 'Metrics and health';
const WEBHOOKS = 'Outbound webhooks';
const RETENTION = 'Data retention (worker role)';
const TRACING = 'Tracing (OpenTelemetry)';

/** The standard OpenTelemetry sampler names this service honours (OTEL_TRACES_SAMPLER). */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TraceSampler = (typeof TRACE_SAMPLERS)[number];
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
const EVENT_STREAM = 'Event stream (NATS JetStream)';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/async_orders';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const NODE_ENVS = ['development', 'production', 'test'] as const;
export const ROLES = ['api', 'worker', 'all'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
export type Role = (typeof ROLES)[number];

export const VARIABLES = {
  // NODE_ENV comes first: the production-only rules of every other variable depend on it.
  NODE_ENV: oneOf(NODE_ENVS, {
    group: PROCESS,
    default: 'development',
    common: true,
    description:
      '`production` turns on JSON logs, hides error detail and requires the secrets marked *Required when `NODE_ENV=production`*; `test` is set by the test suites.',
  }),
  ROLE: oneOf(ROLES, {
    group: PROCESS,
    default: 'all',
    common: true,
    description:
      'Which part of the service this process runs: `api` (HTTP only), `worker` (outbox relay, queue processors, schedulers; listens on nothing) or `all` (both).',
  }),
  HOST: string({ group: PROCESS, default: '0.0.0.0', description: 'Address the HTTP listener binds.' }),
  PORT: integer({
    group: PROCESS,
    default: 3000,
    min: 0,
    max: 65535,
    common: true,
    description: 'HTTP port.',
  }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    group: PROCESS,
    default: 'info',
    common: true,
    description: 'pino log level.',
  }),
  BODY_LIMIT_BYTES: integer({
    group: PROCESS,
    default: 1_048_576,
    min: 1024,
    max: 100 * 1_048_576,
    description: 'Largest accepted request body in bytes; larger bodies get `413`.',
  }),
  BODY_MAX_DEPTH: integer({
    group: PROCESS,
    default: 32,
    min: 2,
    max: 1000,
    description:
      'Deepest nesting of arrays and objects accepted in a JSON body; deeper bodies get `400` before they are parsed.',
  }),
  CORS_ORIGINS: optionalString({
    group: PROCESS,
    defaultText: '`*` in development, none in production',
    description: 'Comma-separated allowed CORS origins, or `*` for any.',
  }),
  TRUST_PROXY: boolean({
    group: PROCESS,
    default: false,
    description:
      'Trust `X-Forwarded-For` for the client IP (rate limits, login throttling). Set it only behind a proxy you control.',
  }),
  STARTUP_CONNECT_TIMEOUT_MS: integer({
    group: PROCESS,
    default: 5000,
    min: 100,
    max: 60_000,
    description:
      'How long start-up waits for PostgreSQL and Redis before it stops with one line naming the one missing.',
  }),
  SHUTDOWN_TIMEOUT_MS: integer({
    group: PROCESS,
    default: 8000,
    min: 100,
    max: 120_000,
    description:
      'How long a SIGTERM may drain (relay batch, active jobs, connections) before the exit is forced.',
  }),

  DATABASE_URL: url({
    group: POSTGRES,
    default: DEFAULT_DATABASE_URL,
    protocols: ['postgres:', 'postgresql:'],
    common: true,
    description: 'PostgreSQL 15+; the database is created on start if missing, then migrated.',
  }),
  DATABASE_POOL_SIZE: integer({
    group: POSTGRES,
    default: 10,
    common: true,
    min: 1,
    max: 200,
    description: 'Connections per process.',
  }),
  DATABASE_DIRECT_URL: optionalUrl({
    group: POSTGRES,
    protocols: ['postgres:', 'postgresql:'],
    defaultText: '`DATABASE_URL`',
    description:
      "A session connection straight to the primary, for what transaction pooling breaks: the outbox relay's `LISTEN`, the migration advisory lock and creating the database. Set it when `DATABASE_URL` points at PgBouncer in transaction mode; without a database name, `DATABASE_URL`'s is used.",
  }),
  DATABASE_PREPARED_STATEMENTS: boolean({
    group: POSTGRES,
    default: true,
    description:
      'Run the hot-path statements as named prepared statements (parsed and planned once per connection). Set `false` behind PgBouncer before 1.21 in transaction mode, which cannot keep them.',
  }),
  DATABASE_REPLICA_URLS: optionalString({
    group: POSTGRES,
    defaultText: 'unset (no replicas)',
    description:
      'Comma-separated `postgres://` URLs of streaming read replicas. Stale-tolerant reads (catalogue, admin lists, order lists, the saga timeline) go to one of them; the primary answers when none is fresh enough.',
  }),
  DATABASE_REPLICA_MAX_LAG_MS: integer({
    group: POSTGRES,
    default: 1000,
    min: 0,
    max: 3_600_000,
    description: 'A replica whose replay lags the primary by more than this (or that is down) is skipped.',
  }),

  REDIS_URL: url({
    group: REDIS,
    default: DEFAULT_REDIS_URL,
    protocols: ['redis:', 'rediss:'],
    common: true,
    description: 'Redis 7+: queues, cache, rate limits, live order events.',
  }),
  REDIS_SENTINELS: optionalString({
    group: REDIS,
    description:
      'Sentinel mode: the sentinels to ask for the master, `host:port,host:port`. Exactly one of `REDIS_URL`, `REDIS_SENTINELS` and `REDIS_CLUSTER_NODES` may be set (docs/redis-and-scaling.md).',
  }),
  REDIS_SENTINEL_MASTER: string({
    group: REDIS,
    default: 'mymaster',
    description: 'Sentinel mode: the name of the master the sentinels watch.',
  }),
  REDIS_PASSWORD: optionalString({
    group: REDIS,
    secret: true,
    description:
      "Sentinel and Cluster modes: the Redis nodes' password (with `REDIS_URL`, put it in the URL instead).",
  }),
  REDIS_SENTINEL_PASSWORD: optionalString({
    group: REDIS,
    secret: true,
    description: "Sentinel mode: the sentinels' own password, when they require one.",
  }),
  REDIS_CLUSTER_NODES: optionalString({
    group: REDIS,
    description:
      'Cluster mode: seed nodes, `host:port,host:port`; the rest of the cluster is discovered from them.',
  }),
  QUEUE_PREFIX: string({
    group: REDIS,
    default: '{aop}',
    description:
      'Prefix of every Redis key (queues, cache, rate limits). In cluster mode each queue gets a hash tag of its own derived from it (`{aop}` → `{aop:order-processing}`), so the queues spread over the masters.',
  }),

  QUEUE_BACKOFF_DELAY_MS: integer({
    group: QUEUES,
    default: 1000,
    min: 1,
    max: 3_600_000,
    description: 'Base delay of the exponential retry backoff of every queue (50 % jitter on top).',
  }),
  QUEUE_LOCK_DURATION_MS: integer({
    group: QUEUES,
    default: 30_000,
    min: 100,
    max: 3_600_000,
    description: "How long a worker holds a job's lock; a job whose lock expires is taken as stalled.",
  }),
  QUEUE_STALLED_INTERVAL_MS: integer({
    group: QUEUES,
    default: 30_000,
    min: 100,
    max: 3_600_000,
    description: 'How often stalled (lock-expired) jobs are looked for.',
  }),
  QUEUE_CONCURRENCY_ORDER_PROCESSING: integer({
    group: QUEUES,
    default: 20,
    min: 1,
    max: 1000,
    description: 'Jobs of the `order-processing` queue (the saga) each worker process runs at once.',
  }),
  QUEUE_CONCURRENCY_PAYMENT_PROCESSING: optionalInteger({
    group: QUEUES,
    min: 1,
    max: 1000,
    defaultText:
      'min(`QUEUE_RATE_PAYMENT_PROCESSING`, `PAYMENT_GATEWAY_RATE_PER_SECOND`) × `PAYMENT_LATENCY_MAX_MS` × 1.25, between 10 and 1000 (250 with the defaults)',
    description:
      "Jobs of the `payment-processing` queue each worker process runs at once. A charge waits on the gateway (I/O), so by default enough are in flight to reach the gateway's rate limit at its slowest answer.",
  }),
  QUEUE_CONCURRENCY_INVENTORY_MANAGEMENT: integer({
    group: QUEUES,
    default: 5,
    min: 1,
    max: 1000,
    description: 'Jobs of the `inventory-management` queue each worker process runs at once.',
  }),
  QUEUE_CONCURRENCY_NOTIFICATION_SENDING: integer({
    group: QUEUES,
    default: 10,
    min: 1,
    max: 1000,
    description: 'Jobs of the `notification-sending` queue each worker process runs at once.',
  }),
  QUEUE_RATE_PAYMENT_PROCESSING: integer({
    group: QUEUES,
    default: 100,
    min: 0,
    max: 1_000_000,
    description:
      "Payment jobs per second across all workers (`0` = no limit); keep it under your gateway's own rate limit.",
  }),
  QUEUE_RATE_NOTIFICATION_SENDING: integer({
    group: QUEUES,
    default: 200,
    min: 0,
    max: 1_000_000,
    description: 'Notification jobs per second across all workers (`0` = no limit).',
  }),
  QUEUE_METRICS_INTERVAL_MS: integer({
    group: QUEUES,
    default: 15_000,
    min: 100,
    max: 3_600_000,
    description:
      'How often the worker role samples queue counts, open dead letters and the outbox backlog into gauges (never during a scrape).',
  }),
  QUEUE_PROGRESS_INTERVAL_MS: integer({
    group: QUEUES,
    default: 1000,
    min: 0,
    max: 60_000,
    description:
      "Least time between two progress writes of one job (`job.updateProgress`), and before its first: shorter jobs write none, a slow job's step shows within it. See docs/messaging.md.",
  }),
  QUEUE_HEALTH_WAITING_THRESHOLD: integer({
    group: QUEUES,
    default: 1000,
    min: 0,
    description:
      "Waiting jobs above which a queue's detailed health check says `degraded: true` (it stays up).",
  }),
  QUEUE_HEALTH_FAILED_THRESHOLD: integer({
    group: QUEUES,
    default: 100,
    min: 0,
    description: "Failed jobs above which a queue's detailed health check says `degraded: true`.",
  }),
  QUEUE_HEALTH_DELAYED_THRESHOLD: integer({
    group: QUEUES,
    default: 1000,
    min: 0,
    description: "Delayed jobs above which a queue's detailed health check says `degraded: true`.",
  }),

  OUTBOX_POLL_INTERVAL_MS: integer({
    group: OUTBOX,
    default: 1000,
    min: 10,
    max: 600_000,
    description: 'Fallback poll of the outbox when no NOTIFY arrives (LISTEN down, lost notification).',
  }),
  OUTBOX_BATCH_SIZE: integer({
    group: OUTBOX,
    default: 200,
    min: 1,
    max: 10_000,
    description: 'Events claimed (`FOR UPDATE SKIP LOCKED`) and published per transaction.',
  }),
  OUTBOX_MAX_ATTEMPTS: integer({
    group: OUTBOX,
    default: 10,
    min: 1,
    max: 1000,
    description:
      'Failed publications before an event is parked for an operator (`parked_at`). Failures while Redis is unreachable are not counted: an outage never parks events.',
  }),
  OUTBOX_RETRY_BASE_DELAY_MS: integer({
    group: OUTBOX,
    default: 500,
    min: 1,
    max: 3_600_000,
    description:
      'Backoff between failed publications: base × 2^attempts, capped by `OUTBOX_RETRY_MAX_DELAY_MS`, with 50 % jitter. Must not exceed the cap.',
  }),
  OUTBOX_RETRY_MAX_DELAY_MS: integer({
    group: OUTBOX,
    default: 300_000,
    min: 1,
    max: 86_400_000,
    description: 'Cap of that backoff.',
  }),
  OUTBOX_PUBLISH_TIMEOUT_MS: integer({
    group: OUTBOX,
    default: 5000,
    min: 50,
    max: 600_000,
    description:
      'A publication that takes longer counts as failed (the rows are retried; the job id makes that safe).',
  }),
  OUTBOX_RETENTION_HOURS: integer({
    group: OUTBOX,
    default: 168,
    min: 1,
    max: 24 * 3650,
    description: 'Processed events are kept this long for audit and replay, then pruned in batches.',
  }),
  OUTBOX_PRUNE_INTERVAL_MS: integer({
    group: OUTBOX,
    default: 3_600_000,
    min: 1000,
    max: 86_400_000,
    description: 'How often the worker prunes processed events older than the retention.',
  }),
  OUTBOX_HEALTH_MAX_AGE_SECONDS: integer({
    group: OUTBOX,
    default: 60,
    min: 1,
    max: 86_400,
    description:
      'The outbox health check says `degraded: true` when the oldest unpublished event is older than this.',
  }),

  EVENT_STREAM_URL: optionalUrl({
    group: EVENT_STREAM,
    protocols: ['nats:', 'tls:'],
    description:
      'Publishes every outbox domain event to NATS JetStream (`nats://host:port`); unset turns the stream off. See docs/events.md.',
  }),
  EVENT_STREAM_NAME: string({
    group: EVENT_STREAM,
    default: 'AOP_EVENTS',
    description:
      'The JetStream stream the events go to; created with the subjects `<EVENT_STREAM_SUBJECT_PREFIX>.>` when missing, left as it is when it exists.',
  }),
  EVENT_STREAM_SUBJECT_PREFIX: string({
    group: EVENT_STREAM,
    default: 'aop.events',
    description: 'Each event is published on `<prefix>.<event type>`, e.g. `aop.events.OrderCreated`.',
  }),
  EVENT_STREAM_DUPLICATE_WINDOW_SECONDS: integer({
    group: EVENT_STREAM,
    default: 600,
    min: 1,
    max: 86_400,
    description:
      "The stream's duplicate window when this service creates it: a republished event (same `Nats-Msg-Id`) within it is dropped by JetStream.",
  }),
  EVENT_STREAM_POLL_INTERVAL_MS: integer({
    group: EVENT_STREAM,
    default: 200,
    min: 10,
    max: 600_000,
    description: 'How often the stream publisher looks for events the outbox relay has handed to it.',
  }),
  EVENT_STREAM_RETRY_MAX_DELAY_MS: integer({
    group: EVENT_STREAM,
    default: 10_000,
    min: 10,
    max: 3_600_000,
    description:
      'Longest pause between attempts while NATS is unreachable or rejects an event (exponential from the poll interval). Events wait in PostgreSQL meanwhile.',
  }),

  EVENT_STREAM_CRASH_AFTER_BATCHES: optionalInteger({
    group: EVENT_STREAM,
    min: 1,
    refusedInProduction: true,
    defaultText: 'unset (off)',
    description:
      'Fault injection for tests: the worker kills itself (SIGKILL) once its stream publisher has had this many batches acknowledged, right before marking the last one published.',
  }),

  JWT_SECRET: optionalString({
    group: AUTH,
    minBytes: 32,
    secret: true,
    common: true,
    requiredInProduction: 'at least 32 random bytes',
    defaultText: 'random per start in development',
    description:
      'HS256 key of the access tokens, at least 32 bytes. A random one per start in development (every restart logs everyone out).',
  }),
  JWT_ACCESS_TTL_SECONDS: integer({
    group: AUTH,
    default: 900,
    min: 10,
    max: 86_400,
    description:
      'Access-token lifetime. A deactivation, deletion, role change or `POST /auth/logout-all` stops a token sooner, within seconds (see `AUTH_STANDING_CACHE_MS`).',
  }),
  JWT_REFRESH_TTL_SECONDS: integer({
    group: AUTH,
    default: 7 * 86_400,
    min: 60,
    max: 90 * 86_400,
    description: 'Refresh-token lifetime.',
  }),
  ADMIN_EMAIL: string({
    group: AUTH,
    default: 'admin@example.com',
    description: 'The admin the seed creates when it does not exist (lower-cased).',
  }),
  ADMIN_PASSWORD: string({
    group: AUTH,
    default: 'Admin123!',
    secret: true,
    common: true,
    requiredInProduction: true,
    description: 'Password of that admin (`ADMIN_EMAIL`).',
  }),
  LOGIN_THROTTLE_WINDOW_SECONDS: integer({
    group: AUTH,
    default: 900,
    min: 1,
    max: 86_400,
    description: 'Window of the failed-login counters.',
  }),
  LOGIN_THROTTLE_MAX_PER_EMAIL: integer({
    group: AUTH,
    default: 5,
    min: 1,
    max: 1000,
    description:
      'Failed logins per email within the window before `429` (with `Retry-After`), even for the right password.',
  }),
  LOGIN_THROTTLE_MAX_PER_IP: integer({
    group: AUTH,
    default: 20,
    min: 1,
    max: 100_000,
    description: 'Failed logins per client IP within the window before `429`.',
  }),
  RATE_LIMIT_PER_MINUTE: integer({
    group: AUTH,
    default: 1200,
    min: 0,
    max: 10_000_000,
    common: true,
    description: 'Requests per minute per user (per client IP when anonymous); `0` turns the limit off.',
  }),
  RATE_LIMIT_STORE_TIMEOUT_MS: integer({
    group: AUTH,
    default: 50,
    min: 1,
    max: 10_000,
    description:
      "The longest a request waits for the rate limit's Redis store before it goes through (fail open): a hung Redis must not hold the accept path.",
  }),
  RATE_LIMIT_STORE_RETRY_MS: integer({
    group: AUTH,
    default: 2000,
    min: 0,
    max: 600_000,
    description: 'After the store failed or timed out, requests go through without asking it for this long.',
  }),
  AUTH_STANDING_CACHE_MS: integer({
    group: AUTH,
    default: 30_000,
    min: 100,
    max: 3_600_000,
    description:
      "How long an API process trusts what it read of a user's standing (active, role, token version); deactivation, deletion, role change and `POST /auth/logout-all` reach every process at once through Redis pub/sub.",
  }),
  AUTH_STANDING_CACHE_DEGRADED_MS: integer({
    group: AUTH,
    default: 2000,
    min: 100,
    max: 60_000,
    description:
      'The same while that pub/sub channel is silent (Redis down or hanging): customers are re-read this often, and admin-only routes answer `503` until the channel is back.',
  }),
  SEED_DEMO: boolean({
    group: CATALOGUE,
    default: true,
    description: 'Seed a demo catalogue with stock into an empty database at start-up.',
  }),

  PRODUCT_CACHE_TTL_SECONDS: integer({
    group: CATALOGUE,
    default: 60,
    min: 0,
    max: 86_400,
    description:
      'Longest life of a cached product or listing page (writes invalidate at once anyway); `0` turns the cache off.',
  }),
  PRODUCT_CACHE_LISTING_PAGES: integer({
    group: CATALOGUE,
    default: 3,
    min: 0,
    max: 100,
    description: 'How many first pages of the default product listing are cached.',
  }),
  RESERVATION_TTL_SECONDS: integer({
    group: CATALOGUE,
    default: 900,
    min: 1,
    max: 7 * 86_400,
    description: 'Unconfirmed stock reservations are released after this many seconds.',
  }),
  RESERVATION_EXPIRY_INTERVAL_MS: integer({
    group: CATALOGUE,
    default: 5000,
    min: 100,
    max: 3_600_000,
    description: 'How often a worker releases expired reservations.',
  }),
  RESERVATION_EXPIRY_BATCH_SIZE: integer({
    group: CATALOGUE,
    default: 100,
    min: 1,
    max: 10_000,
    description: 'Expired reservations released per transaction.',
  }),

  PAYMENT_SUCCESS_RATE: number({
    group: PAYMENTS,
    default: 0.8,
    min: 0,
    max: 1,
    description:
      'Share of mock-gateway charges that succeed; with the next one it must not exceed 1, the rest are declined.',
  }),
  PAYMENT_TRANSIENT_FAILURE_RATE: number({
    group: PAYMENTS,
    default: 0.15,
    min: 0,
    max: 1,
    description: 'Share of mock-gateway calls that fail transiently (and succeed on retry).',
  }),
  PAYMENT_LATENCY_MIN_MS: integer({
    group: PAYMENTS,
    default: 100,
    min: 0,
    max: 60_000,
    description: 'Lower bound of the mock gateway latency (uniform); must not exceed the upper bound.',
  }),
  PAYMENT_LATENCY_MAX_MS: integer({
    group: PAYMENTS,
    default: 2000,
    min: 0,
    max: 60_000,
    description: 'Upper bound of the mock gateway latency.',
  }),
  PAYMENT_FRAUD_LIMIT: number({
    group: PAYMENTS,
    default: 1000,
    min: 0,
    max: 1e12,
    description: 'Amounts above it (in USD after conversion) are declined as `fraud_suspected`.',
  }),
  PAYMENT_RANDOM_SEED: optionalInteger({
    group: PAYMENTS,
    min: 0,
    max: 2 ** 31 - 1,
    defaultText: 'unset (random)',
    description: "Fixes the mock gateway's random choices (seeded PRNG), for repeatable runs.",
  }),
  PAYMENT_DROP_RESPONSE_RATE: number({
    group: PAYMENTS,
    default: 0,
    min: 0,
    max: 1,
    description:
      'Share of successful charges whose answer the mock drops: the charge happens, the caller sees a timeout, and a retry with the same idempotency key returns the original charge.',
  }),
  PAYMENT_OUTAGE_FILE: optionalString({
    group: PAYMENTS,
    refusedInProduction: true,
    defaultText: 'unset (off)',
    description:
      'Fault injection: while a file exists at this path, every call to the mock gateway fails transiently with `gateway_outage`.',
  }),
  PAYMENT_GATEWAY_RATE_PER_SECOND: number({
    group: PAYMENTS,
    default: 100,
    min: 0.001,
    max: 1e6,
    description:
      "The mock gateway's own rate limit (token bucket refill per second); over it, it answers `rate_limited`.",
  }),
  PAYMENT_GATEWAY_BURST: integer({
    group: PAYMENTS,
    default: 100,
    min: 1,
    max: 1e6,
    description: "Burst capacity of the mock gateway's token bucket.",
  }),
  PAYMENT_PACE_MAX_WAIT_MS: optionalInteger({
    group: PAYMENTS,
    min: 0,
    max: 120_000,
    defaultText: '`PAYMENT_BREAKER_TIMEOUT_MS`',
    description:
      'Gateway calls are paced to what the gateway accepts (learnt from its 429 answers); a call waits its turn at most this long before its job is put back without spending an attempt. Must not exceed `PAYMENT_BREAKER_TIMEOUT_MS`.',
  }),
  PAYMENT_BANK_TRANSFER_SETTLE_MS: integer({
    group: PAYMENTS,
    default: 5000,
    min: 0,
    max: 86_400_000,
    description: 'How long the mock takes to settle a bank transfer before it calls the webhook.',
  }),
  PAYMENT_WEBHOOK_SECRET: string({
    group: PAYMENTS,
    default: 'whsec_development_only_change_me',
    secret: true,
    requiredInProduction: true,
    defaultText: 'a development-only secret',
    description: 'HMAC-SHA256 secret shared with the gateway for `POST /api/v1/payments/webhook`.',
  }),
  PAYMENT_WEBHOOK_URL: optionalUrl({
    group: PAYMENTS,
    protocols: ['http:', 'https:'],
    defaultText: '`http://127.0.0.1:<PORT>/api/v1/payments/webhook`',
    description: 'Where the mock gateway posts its webhooks.',
  }),
  PAYMENT_BREAKER_TIMEOUT_MS: integer({
    group: PAYMENTS,
    default: 5000,
    min: 10,
    max: 120_000,
    description:
      'Circuit breaker: a gateway call slower than this fails; must exceed `PAYMENT_LATENCY_MAX_MS`.',
  }),
  PAYMENT_BREAKER_ERROR_THRESHOLD_PERCENT: integer({
    group: PAYMENTS,
    default: 50,
    min: 1,
    max: 100,
    description: 'Circuit breaker: failure percentage (transient errors and timeouts) that opens it.',
  }),
  PAYMENT_BREAKER_RESET_TIMEOUT_MS: integer({
    group: PAYMENTS,
    default: 30_000,
    min: 10,
    max: 3_600_000,
    description: 'Circuit breaker: time open before a half-open probe.',
  }),
  PAYMENT_BREAKER_VOLUME_THRESHOLD: integer({
    group: PAYMENTS,
    default: 10,
    min: 1,
    max: 10_000,
    description: 'Circuit breaker: calls needed before it may open.',
  }),

  SMTP_URL: optionalUrl({
    group: NOTIFICATIONS,
    protocols: ['smtp:', 'smtps:'],
    defaultText: 'unset (JSON transport)',
    description:
      'Send real email over SMTP; unset, the nodemailer JSON transport renders each message and keeps it in memory.',
  }),
  EMAIL_FROM: string({
    group: NOTIFICATIONS,
    default: 'Async Orders <no-reply@async-orders.local>',
    description: 'Sender of every email.',
  }),
  NOTIFICATION_SUCCESS_RATE: number({
    group: NOTIFICATIONS,
    default: 0.95,
    min: 0,
    max: 1,
    description:
      'Share of messages the mock email/SMS transports deliver; the rest fail transiently and are retried.',
  }),
  NOTIFICATION_RANDOM_SEED: optionalInteger({
    group: NOTIFICATIONS,
    min: 0,
    max: 2 ** 31 - 1,
    defaultText: 'unset (random)',
    description: "Fixes the mock transports' random choices.",
  }),
  NOTIFICATION_USER_HOURLY_LIMIT: integer({
    group: NOTIFICATIONS,
    default: 20,
    min: 0,
    max: 1_000_000,
    description:
      'Non-critical messages per user per hour (critical ones are never limited); `0` turns the limit off.',
  }),
  NOTIFICATION_KEEP_LAST_MESSAGES: integer({
    group: NOTIFICATIONS,
    default: 100,
    min: 0,
    max: 10_000,
    description: 'Rendered messages the mock transports keep in memory for inspection.',
  }),

  SAGA_TIMEOUT_SECONDS: integer({
    group: SAGA,
    default: 600,
    min: 1,
    max: 7 * 86_400,
    description:
      'A saga still running after this many seconds is compensated and its order cancelled (`TIMEOUT`).',
  }),
  SAGA_STALL_SECONDS: integer({
    group: SAGA,
    default: 30,
    min: 1,
    max: 86_400,
    description: 'A saga without progress this long is resumed (crashed worker, lost job, lost webhook).',
  }),
  SAGA_RECOVERY_INTERVAL_MS: integer({
    group: SAGA,
    default: 5000,
    min: 50,
    max: 3_600_000,
    description: 'How often the worker looks for stalled and timed-out sagas.',
  }),
  SAGA_BATCH_SIZE: integer({
    group: SAGA,
    default: 100,
    min: 1,
    max: 1000,
    description:
      'Orders per saga job: saga events the relay claims together travel as one job of up to this many (1 = one job per order).',
  }),
  CRASH_AT: optionalString({
    group: SAGA,
    refusedInProduction: true,
    defaultText: 'unset (off)',
    description:
      'Fault injection for tests: `<step>:<before|after>` (or `compensate:<step>:<before|after>`) makes a worker exit there.',
  }),

  INVARIANT_RECOVERY_WINDOW_SECONDS: optionalInteger({
    group: INVARIANTS,
    min: 0,
    max: 30 * 86_400,
    defaultText: '`SAGA_TIMEOUT_SECONDS + 60`',
    description:
      'Orders created (or last changed) more recently may still be moving and are not checked yet.',
  }),
  INVARIANT_OUTBOX_LAG_SECONDS: integer({
    group: INVARIANTS,
    default: 60,
    min: 0,
    max: 86_400,
    description: 'An outbox event still unpublished this long after it became due is a violation.',
  }),
  INVARIANT_DEAD_LETTER_AGE_SECONDS: integer({
    group: INVARIANTS,
    default: 3600,
    min: 0,
    max: 30 * 86_400,
    description:
      'A dead letter still OPEN this long after it was written is listed for an operator (attention).',
  }),
  INVARIANT_SAMPLE_ROWS: integer({
    group: INVARIANTS,
    default: 20,
    min: 1,
    max: 10_000,
    description: 'Offending rows listed per check (counts are always exact).',
  }),
  INVARIANT_CHECK_INTERVAL_MS: optionalInteger({
    group: INVARIANTS,
    min: 0,
    max: 86_400_000,
    defaultText: '`60000` (`0` when `NODE_ENV=test`)',
    description:
      'How often the worker role runs the checker and updates `aop_invariant_violations`; `0` = never.',
  }),

  WEBHOOK_ALLOW_INSECURE: boolean({
    group: WEBHOOKS,
    default: false,
    description:
      'Lets webhook endpoints use plain `http` URLs (tests, local development); otherwise only `https` is accepted.',
  }),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: boolean({
    group: WEBHOOKS,
    default: false,
    description:
      'Lets webhook endpoints resolve to loopback, private, link-local or cloud-metadata addresses (tests, local development). Off: refused at registration and again at every send (DNS rebinding).',
  }),
  WEBHOOK_TIMEOUT_MS: integer({
    group: WEBHOOKS,
    default: 10_000,
    min: 100,
    max: 120_000,
    description:
      'How long one delivery attempt may take (connect to last byte); a timeout is retried like a 5xx.',
  }),
  WEBHOOK_RETRY_SCHEDULE: string({
    group: WEBHOOKS,
    default: '5s,5m,30m,2h,5h,10h,14h,20h,20h',
    description:
      'Delays before each retry of a failed delivery, comma-separated with a unit (`ms`, `s`, `m`, `h`, `d`); each gets ±20 % jitter. The default spans about three days; after the last retry the delivery is `failed`.',
  }),
  WEBHOOK_DISABLE_AFTER_SECONDS: integer({
    group: WEBHOOKS,
    default: 5 * 86_400,
    min: 1,
    max: 90 * 86_400,
    description:
      'An endpoint whose attempts have all failed for this long is disabled (and an operator alerted); one success resets the clock.',
  }),
  WEBHOOK_SECRET_GRACE_SECONDS: integer({
    group: WEBHOOKS,
    default: 86_400,
    min: 0,
    max: 30 * 86_400,
    description:
      'After a secret rotation, deliveries carry signatures with both the new and the old secret this long.',
  }),
  WEBHOOK_DELIVERY_CONCURRENCY: integer({
    group: WEBHOOKS,
    default: 16,
    min: 1,
    max: 500,
    description: 'Delivery attempts one worker process makes at the same time (all endpoints together).',
  }),
  WEBHOOK_ENDPOINT_CONCURRENCY: integer({
    group: WEBHOOKS,
    default: 2,
    min: 1,
    max: 100,
    description:
      "Attempts in flight to ONE endpoint across all workers: a slow or dead receiver holds at most this many slots, never the others' share.",
  }),
  WEBHOOK_LEASE_MS: optionalInteger({
    group: WEBHOOKS,
    min: 100,
    max: 3_600_000,
    defaultText: 'WEBHOOK_TIMEOUT_MS + 60000',
    description:
      'How long an attempt handed to a worker is its own: a worker killed mid-attempt delays that delivery by this much, then another worker makes it.',
  }),
  WEBHOOK_DISPATCH_INTERVAL_MS: integer({
    group: WEBHOOKS,
    default: 1000,
    min: 10,
    max: 60_000,
    description:
      'How often the worker looks for deliveries whose retry is due (first attempts start at once).',
  }),
  WEBHOOK_SECRETS_KEY: optionalString({
    group: WEBHOOKS,
    minBytes: 32,
    secret: true,
    defaultText: 'derived from JWT_SECRET (a fixed development key when JWT_SECRET is random)',
    description:
      "Encrypts the endpoints' signing secrets at rest (AES-256-GCM). Set it in production so rotating JWT_SECRET keeps the webhook secrets readable.",
  }),
  RETENTION_PRUNE_INTERVAL_MS: integer({
    group: RETENTION,
    default: 60_000,
    min: 1000,
    max: 86_400_000,
    description:
      'How often the worker runs the retention pruner: every rule deletes (or compacts) what expired, in batches of `RETENTION_PRUNE_BATCH_SIZE`.',
  }),
  RETENTION_PRUNE_BATCH_SIZE: integer({
    group: RETENTION,
    default: 1000,
    min: 1,
    max: 50_000,
    description:
      'Rows per delete statement. Small batches keep each lock short and each statement an index range scan; a pass repeats them until the rule has nothing left (at most 100 per rule).',
  }),
  IDEMPOTENCY_KEY_TTL_SECONDS: integer({
    group: RETENTION,
    default: 86_400,
    min: 1,
    max: 3650 * 86_400,
    description:
      'How long an `Idempotency-Key` replays its stored answer (24 h, as Stripe). The order itself keeps the key for good: a retry after the record is deleted is refused (422 `IDEMPOTENCY_KEY_REUSED`), never a second order.',
  }),
  IDEMPOTENCY_RETENTION_SECONDS: integer({
    group: RETENTION,
    default: 86_400,
    min: 0,
    max: 3650 * 86_400,
    description:
      'An idempotency record is deleted this long after it expires (24 h, as Stripe keeps keys): a client retrying a day late still gets its stored answer.',
  }),
  INBOX_RETENTION_SECONDS: integer({
    group: RETENTION,
    default: 14 * 86_400,
    min: 60,
    max: 3650 * 86_400,
    description:
      'Inbox rows (`processed_messages`) are deleted after this long. Must be at least the longest redelivery horizon — `OUTBOX_RETENTION_HOURS` (an outbox replay), 7 days (failed jobs kept in Redis for retry) and 3 days (payment webhook retries) — or start-up stops: a redelivery after its inbox row is gone would apply twice.',
  }),
  REFRESH_TOKEN_RETENTION_SECONDS: integer({
    group: RETENTION,
    default: 30 * 86_400,
    min: 0,
    max: 3650 * 86_400,
    description:
      'Refresh tokens are deleted this long after they expire or are revoked (30 days): long enough to investigate a stolen-token report, short enough that the table is the live sessions.',
  }),
  DEAD_LETTER_RETENTION_SECONDS: integer({
    group: RETENTION,
    default: 30 * 86_400,
    min: 0,
    max: 3650 * 86_400,
    description:
      'Replayed, discarded and resolved dead letters are deleted this long after their last change (30 days, a month of incident history). OPEN ones are never deleted.',
  }),
  NOTIFICATION_BODY_RETENTION_SECONDS: integer({
    group: RETENTION,
    default: 90 * 86_400,
    min: 0,
    max: 3650 * 86_400,
    description:
      'Rendered notification bodies are dropped this long after the notification was created (90 days, the usual support window); the record of what was sent, to whom and when stays.',
  }),
  SAGA_TIMELINE_RETENTION_SECONDS: integer({
    group: RETENTION,
    default: 90 * 86_400,
    min: 0,
    max: 3650 * 86_400,
    description:
      "A finished saga's step timeline is emptied this long after it finished (90 days); its outcome (status, failure reason, finish time) stays.",
  }),

  METRICS_TOKEN: optionalString({
    group: OBSERVABILITY,
    secret: true,
    requiredInProduction: 'at least 16 characters',
    defaultText: 'unset (open, outside production)',
    description:
      "When set, `/metrics` (and a worker's `WORKER_METRICS_PORT`) require `Authorization: Bearer <token>`; start-up logs whether `/metrics` is open.",
  }),
  WORKER_METRICS_PORT: optionalInteger({
    group: OBSERVABILITY,
    min: 1,
    max: 65535,
    defaultText: 'unset (a worker listens on nothing)',
    description:
      'A `ROLE=worker` process serves its own `/metrics` (jobs, saga, payments, relay) on this port.',
  }),
  HEALTH_HEAP_LIMIT_MB: integer({
    group: OBSERVABILITY,
    default: 512,
    min: 1,
    max: 1_048_576,
    description: '`/health/detailed` reports memory as degraded above this V8 heap size (MiB).',
  }),
  HEALTH_RSS_LIMIT_MB: integer({
    group: OBSERVABILITY,
    default: 1024,
    min: 1,
    max: 1_048_576,
    description: '`/health/detailed` reports memory as degraded above this resident-set size (MiB).',
  }),
  HEALTH_DISK_MIN_FREE_RATIO: number({
    group: OBSERVABILITY,
    default: 0.05,
    min: 0,
    max: 1,
    description:
      '`/health/detailed` reports the disk as degraded when less than this fraction of it is free.',
  }),
  // The standard OpenTelemetry names (a contract: collectors and platforms set them), not ours.
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl({
    group: TRACING,
    protocols: ['http:', 'https:'],
    description:
      'Where traces go, as an OTLP/HTTP base URL (`/v1/traces` is appended), say `http://localhost:4318`. Unset: tracing is off and the OpenTelemetry SDK is not even loaded (docs/tracing.md).',
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(OTLP_PROTOCOLS, {
    group: TRACING,
    default: 'http/protobuf',
    description: 'OTLP encoding: `http/protobuf` or `http/json` (gRPC is not supported).',
  }),
  OTEL_SERVICE_NAME: string({
    group: TRACING,
    default: 'async-order-processor',
    description: 'The `service.name` of every span; the process role is added as `aop.role`.',
  }),
  OTEL_TRACES_SAMPLER: oneOf(TRACE_SAMPLERS, {
    group: TRACING,
    default: 'parentbased_always_on',
    description:
      "Which traces are kept: the standard sampler names. `parentbased_*` follows the caller's `traceparent` decision.",
  }),
  OTEL_TRACES_SAMPLER_ARG: number({
    group: TRACING,
    default: 1,
    min: 0,
    max: 1,
    description: 'The ratio of the `traceidratio` samplers (0 to 1); ignored by the others.',
  }),
} satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof VARIABLES;
export type VariableValues = {
  readonly [K in VariableName]: (typeof VARIABLES)[K] extends Variable<infer T> ? T : never;
};

type Env = Record<string, string | undefined>;

/** Unset and empty are the same: `.env.example` leaves optional variables empty. */
function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Reads and validates one variable; a bad value adds a problem and yields the default. */
function readOne(spec: VariableSpec, name: string, value: string | undefined, problems: string[]): unknown {
  switch (spec.kind) {
    case 'string':
      if (value !== undefined && spec.minBytes !== undefined && Buffer.byteLength(value) < spec.minBytes) {
        problems.push(`${name} must be at least ${spec.minBytes} bytes long`);
      }
      return value ?? spec.default;
    case 'oneOf': {
      if (value === undefined || spec.values.includes(value)) {
        return value ?? spec.default;
      }
      problems.push(`${name}="${value}" must be one of: ${spec.values.join(', ')}`);
      return spec.default;
    }
    case 'integer': {
      if (value === undefined) {
        return spec.default;
      }
      const n = Number(value);
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      if (!/^-?\d+$/.test(value.trim()) || n < spec.min || n > max) {
        problems.push(`${name}="${value}" must be an integer between ${spec.min} and ${max}`);
        return spec.default;
      }
      return n;
    }
    case 'number': {
      if (value === undefined) {
        return spec.default;
      }
      const n = Number(value);
      if (!Number.isFinite(n) || n < spec.min || n > spec.max) {
        problems.push(`${name}="${value}" must be a number between ${spec.min} and ${spec.max}`);
        return spec.default;
      }
      return n;
    }
    case 'boolean': {
      if (value === undefined) {
        return spec.default;
      }
      const lower = value.toLowerCase();
      if (['true', '1', 'yes'].includes(lower)) {
        return true;
      }
      if (['false', '0', 'no'].includes(lower)) {
        return false;
      }
      problems.push(`${name}="${value}" must be true or false`);
      return spec.default;
    }
    case 'url': {
      if (value === undefined) {
        return spec.default;
      }
      try {
        const parsed = new URL(value);
        if (!spec.protocols.includes(parsed.protocol)) {
          problems.push(
            `${name} must use one of the protocols ${spec.protocols.join(', ')} (got ${parsed.protocol})`,
          );
        }
      } catch {
        problems.push(`${name} is not a valid URL`);
      }
      return value;
    }
  }
}

/** The development defaults of secret variables (`Admin123!`, the webhook secret): public, so refused in production. */
const PUBLISHED_SECRETS: readonly string[] = (Object.values(VARIABLES) as VariableSpec[]).flatMap((spec) =>
  spec.secret && typeof spec.default === 'string' ? [spec.default] : [],
);

/**
 * Every declared variable, validated: values in declaration order, and every problem (by name, with the
 * reason) instead of stopping at the first, so a user fixes all of them in one go.
 */
export function readVariables(env: Env): { values: VariableValues; problems: string[]; production: boolean } {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(VARIABLES) as [string, VariableSpec][]) {
    values[name] = readOne(spec, name, raw(env, name), problems);
  }
  const production = values.NODE_ENV === 'production';
  if (production) {
    for (const [name, spec] of Object.entries(VARIABLES) as [string, VariableSpec][]) {
      const set = raw(env, name) !== undefined;
      if (spec.requiredInProduction && !set) {
        const hint = spec.requiredInProduction === true ? '' : ` (${spec.requiredInProduction})`;
        problems.push(`${name} is required when NODE_ENV=production${hint}`);
      }
      // A secret published in this repository (a default, .env.example) protects nothing.
      if (spec.secret && set && PUBLISHED_SECRETS.includes(raw(env, name)!)) {
        problems.push(`${name} is a published development default and is refused when NODE_ENV=production`);
      }
      if (spec.refusedInProduction && set) {
        problems.push(`${name} is a fault-injection hook and is refused when NODE_ENV=production`);
        values[name] = undefined;
      }
    }
  }
  return { values: values as VariableValues, problems, production };
}
