import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { NodeEnv, OtlpProtocol, readVariables, Role, TraceSampler } from './variables';

/**
 * The one place that reads process.env. Every variable is declared in `variables.ts` (with its default, bounds
 * and meaning); `loadConfig` reports every bad value at once, by name, with the reason.
 */

export type { NodeEnv, Role } from './variables';

export interface AppConfig {
  env: NodeEnv;
  role: Role;
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    /** Deepest nesting of arrays and objects a JSON body may have; deeper is a 400 before parsing. */
    bodyMaxDepth: number;
    corsOrigins: string[] | true;
    trustProxy: boolean;
  };
  database: {
    url: string;
    /** Session connection to the primary (LISTEN, advisory locks, CREATE DATABASE); defaults to `url`. */
    directUrl: string;
    poolSize: number;
    preparedStatements: boolean;
    replicaUrls: string[];
    replicaMaxLagMs: number;
  };
  redis: RedisConfig;
  queue: {
    prefix: string;
    /** Base delay of the exponential retry backoff (jitter is added on top). */
    backoffDelayMs: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    concurrency: {
      orderProcessing: number;
      paymentProcessing: number;
      inventoryManagement: number;
      notificationSending: number;
    };
    /** Jobs per second the queue may start across all workers (BullMQ limiter); 0 = no limit. */
    ratePerSecond: { paymentProcessing: number; notificationSending: number };
    /** How often queue counts, dead letters and the outbox backlog are sampled into gauges. */
    metricsIntervalMs: number;
    /** Least time between a job's progress writes, and before its first. */
    progressIntervalMs: number;
    /** Health thresholds: above them a queue is reported `degraded` (still up). */
    health: { waitingThreshold: number; failedThreshold: number; delayedThreshold: number };
  };
  outbox: {
    pollIntervalMs: number;
    batchSize: number;
    maxAttempts: number;
    retryBaseDelayMs: number;
    retryMaxDelayMs: number;
    publishTimeoutMs: number;
    retentionHours: number;
    pruneIntervalMs: number;
    /** Health threshold: an oldest pending event older than this marks the outbox `degraded`. */
    healthMaxAgeSeconds: number;
  };
  /** Domain events to NATS JetStream (docs/events.md); `url` unset = off. */
  eventStream: {
    url: string | undefined;
    streamName: string;
    subjectPrefix: string;
    duplicateWindowSeconds: number;
    pollIntervalMs: number;
    retryMaxDelayMs: number;
    /** Fault injection (tests): die between the broker's acknowledgement and the commit of that batch. */
    crashAfterBatches: number | undefined;
  };
  auth: {
    jwtSecret: string;
    jwtSecretGenerated: boolean;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    loginThrottle: { windowSeconds: number; maxPerEmail: number; maxPerIp: number };
    /** How long an API process trusts what it read of a user's standing (role, active, token version). */
    standingCacheMs: number;
    /** The same while the invalidation channel (Redis pub/sub) is silent; admin routes are refused then. */
    standingCacheDegradedMs: number;
  };
  admin: { email: string; password: string };
  seed: { demo: boolean };
  payment: {
    successRate: number;
    transientFailureRate: number;
    latencyMinMs: number;
    latencyMaxMs: number;
    fraudLimit: number;
    randomSeed: number | undefined;
    /** Share of successful charges whose answer the mock drops (the charge happens, the caller times out). */
    dropResponseRate: number;
    /** Fault injection (never in production): while this file exists the mock gateway is down. */
    outageFile: string | undefined;
    /** The mock gateway's own rate limit: token bucket refilled per second, with a burst capacity. */
    gatewayRatePerSecond: number;
    gatewayBurst: number;
    /** Longest a gateway call waits for its turn at the learnt pace before its job is put back. */
    paceMaxWaitMs: number;
    /** How long the mock takes to settle a bank transfer and call the webhook. */
    bankTransferSettleMs: number;
    webhookSecret: string;
    /** Where the mock gateway posts its webhooks; defaults to this service on PORT. */
    webhookUrl: string;
    breaker: {
      timeoutMs: number;
      errorThresholdPercent: number;
      resetTimeoutMs: number;
      volumeThreshold: number;
    };
  };
  notification: {
    successRate: number;
    randomSeed: number | undefined;
    smtpUrl: string | undefined;
    emailFrom: string;
    /** Non-critical messages per user per hour; 0 turns the limit off. */
    perUserHourlyLimit: number;
    /** Rendered messages the in-memory transports keep for inspection. */
    keepLastMessages: number;
  };
  inventory: {
    reservationTtlSeconds: number;
    /** How often the worker releases expired reservations, and how many per transaction. */
    expiryIntervalMs: number;
    expiryBatchSize: number;
  };
  catalogue: {
    /** Upper bound on how long a cache entry may live; writes invalidate at once anyway. */
    cacheTtlSeconds: number;
    /** How many first pages of the default product listing are cached. */
    cachedListingPages: number;
  };
  saga: {
    timeoutSeconds: number;
    /** A saga with no progress for this long is resumed by the recovery scheduler. */
    stallSeconds: number;
    recoveryIntervalMs: number;
    /** Orders per saga job: saga events the relay claims together travel as one job of up to this many. */
    batchSize: number;
    /** Fault injection (never in production): `<step>:<before|after>` makes a worker exit there. */
    crashAt: { step: string; when: 'before' | 'after' } | undefined;
  };
  invariants: {
    /** Orders younger than this (or touched more recently) may still be moving: checks skip them. */
    recoveryWindowSeconds: number;
    /** An outbox event due for publication longer than this is a violation. */
    outboxLagSeconds: number;
    /** A dead letter still OPEN after this long is listed for an operator (attention). */
    deadLetterAgeSeconds: number;
    /** Offending rows reported per check (the count is always exact). */
    sampleRows: number;
    /** How often the worker role runs the checker; 0 turns the periodic run off. */
    intervalMs: number;
  };
  retention: {
    pruneIntervalMs: number;
    batchSize: number;
    idempotencyKeyTtlSeconds: number;
    idempotencySeconds: number;
    inboxSeconds: number;
    refreshTokenSeconds: number;
    deadLetterSeconds: number;
    notificationBodySeconds: number;
    sagaTimelineSeconds: number;
  };
  rateLimit: {
    perMinute: number;
    /** The longest a request waits for the limit's store before it is let through (fail open). */
    storeTimeoutMs: number;
    /** After the store failed or was slow, requests go through without asking it for this long. */
    storeRetryMs: number;
  };
  webhooks: WebhooksConfig;
  log: { level: string };
  /**
   * OpenTelemetry: `enabled` exactly when an OTLP endpoint is set; off, the SDK is never loaded.
   * `tracesUrl` is the endpoint with the standard `/v1/traces` path appended.
   */
  tracing: {
    enabled: boolean;
    tracesUrl: string | undefined;
    protocol: OtlpProtocol;
    serviceName: string;
    sampler: TraceSampler;
    samplerArg: number;
  };
  /** `workerPort`: where a ROLE=worker process serves /metrics; unset = it listens on nothing. */
  metrics: { token: string | undefined; workerPort: number | undefined };
  /** /health/detailed thresholds: crossing one reports the check as `up` with `degraded: true`. */
  health: { heapLimitBytes: number; rssLimitBytes: number; diskMinFreeRatio: number };
  startup: { connectTimeoutMs: number };
  shutdown: { timeoutMs: number };
}

export interface WebhooksConfig {
  allowInsecure: boolean;
  allowPrivateTargets: boolean;
  timeoutMs: number;
  /** Delay before retry n (index n-1); a delivery gets `retryScheduleMs.length + 1` attempts. */
  retryScheduleMs: number[];
  disableAfterSeconds: number;
  secretGraceSeconds: number;
  deliveryConcurrency: number;
  endpointConcurrency: number;
  dispatchIntervalMs: number;
  /** How long a leased attempt belongs to the job that carries it. */
  leaseMs: number;
  /** 32 bytes: the AES-256-GCM key of the signing secrets at rest. */
  secretsKey: Buffer;
}

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export interface RedisNode {
  host: string;
  port: number;
}

/** Exactly one Redis topology: `REDIS_URL`, `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`. */
export interface RedisConfig {
  mode: RedisMode;
  /** Standalone: the server's URL (the password, if any, is part of it). */
  url: string;
  /** Sentinel: the sentinels to ask, and the name of the master they watch. */
  sentinels: RedisNode[];
  sentinelMaster: string;
  /** Cluster: seed nodes; the rest of the cluster is discovered from them. */
  clusterNodes: RedisNode[];
  /** The data nodes' password (Sentinel and Cluster). */
  password: string | undefined;
  sentinelPassword: string | undefined;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

export { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL } from './variables';
const MIB = 1024 * 1024;
/** A scrape token guessable in a few tries protects nothing; production asks for at least this many characters. */
const METRICS_TOKEN_MIN_LENGTH = 16;

/**
 * Reads every variable through the table of `variables.ts` (types, bounds, defaults, production rules), then
 * applies the rules that involve several variables and shapes the result.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const { values: v, problems, production } = readVariables(env);

  if (v.PAYMENT_SUCCESS_RATE + v.PAYMENT_TRANSIENT_FAILURE_RATE > 1) {
    problems.push('PAYMENT_SUCCESS_RATE + PAYMENT_TRANSIENT_FAILURE_RATE must not exceed 1');
  }
  if (v.WEBHOOK_LEASE_MS !== undefined && v.WEBHOOK_LEASE_MS <= v.WEBHOOK_TIMEOUT_MS) {
    problems.push(
      'WEBHOOK_LEASE_MS must exceed WEBHOOK_TIMEOUT_MS (an attempt must end before its lease does)',
    );
  }
  if (v.PAYMENT_LATENCY_MIN_MS > v.PAYMENT_LATENCY_MAX_MS) {
    problems.push('PAYMENT_LATENCY_MIN_MS must not exceed PAYMENT_LATENCY_MAX_MS');
  }
  if (v.OUTBOX_RETRY_BASE_DELAY_MS > v.OUTBOX_RETRY_MAX_DELAY_MS) {
    problems.push('OUTBOX_RETRY_BASE_DELAY_MS must not exceed OUTBOX_RETRY_MAX_DELAY_MS');
  }
  if (v.PAYMENT_BREAKER_TIMEOUT_MS <= v.PAYMENT_LATENCY_MAX_MS) {
    problems.push('PAYMENT_BREAKER_TIMEOUT_MS must exceed PAYMENT_LATENCY_MAX_MS');
  }
  const horizon = redeliveryHorizon(v.OUTBOX_RETENTION_HOURS);
  if (v.INBOX_RETENTION_SECONDS < horizon.seconds) {
    problems.push(
      `INBOX_RETENTION_SECONDS=${v.INBOX_RETENTION_SECONDS} is shorter than the longest redelivery horizon (${horizon.seconds} s: ${horizon.source}); a message redelivered after its inbox row is deleted would apply twice`,
    );
  }
  if (production && v.METRICS_TOKEN !== undefined && v.METRICS_TOKEN.length < METRICS_TOKEN_MIN_LENGTH) {
    problems.push(
      `METRICS_TOKEN must be at least ${METRICS_TOKEN_MIN_LENGTH} characters when NODE_ENV=production`,
    );
  }
  // A call may wait its turn at most as long as a call may take, so wait + call stays within the
  // payment claim's lease (twice the breaker timeout).
  const paceMaxWaitMs = v.PAYMENT_PACE_MAX_WAIT_MS ?? v.PAYMENT_BREAKER_TIMEOUT_MS;
  if (paceMaxWaitMs > v.PAYMENT_BREAKER_TIMEOUT_MS) {
    problems.push('PAYMENT_PACE_MAX_WAIT_MS must not exceed PAYMENT_BREAKER_TIMEOUT_MS');
  }
  // A charge is I/O: the gateway's rate limit × its slowest answer is how many may be in flight at
  // once (Little's law), plus a quarter of headroom; never fewer than the old fixed default of 10.
  const chargeRate =
    v.QUEUE_RATE_PAYMENT_PROCESSING > 0
      ? Math.min(v.QUEUE_RATE_PAYMENT_PROCESSING, v.PAYMENT_GATEWAY_RATE_PER_SECOND)
      : v.PAYMENT_GATEWAY_RATE_PER_SECOND;
  const paymentConcurrency =
    v.QUEUE_CONCURRENCY_PAYMENT_PROCESSING ??
    Math.min(1000, Math.max(10, Math.ceil(chargeRate * (v.PAYMENT_LATENCY_MAX_MS / 1000) * 1.25)));

  let crashAt: AppConfig['saga']['crashAt'];
  if (v.CRASH_AT !== undefined) {
    // Split at the last colon: the step itself may hold one (`compensate:reserveInventory:after`).
    const split = v.CRASH_AT.lastIndexOf(':');
    const step = split > 0 ? v.CRASH_AT.slice(0, split) : '';
    const when = v.CRASH_AT.slice(split + 1);
    if (!step || (when !== 'before' && when !== 'after')) {
      problems.push(`CRASH_AT="${v.CRASH_AT}" must look like <saga step>:<before|after>`);
    } else {
      crashAt = { step, when };
    }
  }

  const replicaUrls = (v.DATABASE_REPLICA_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const replica of replicaUrls) {
    let protocol = '';
    try {
      protocol = new URL(replica).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      problems.push(
        `DATABASE_REPLICA_URLS must be comma-separated postgres:// URLs (got "${redactUrl(replica)}")`,
      );
    }
  }

  const corsRaw = v.CORS_ORIGINS ?? (production ? '' : '*');
  const corsOrigins: string[] | true =
    corsRaw === '*'
      ? true
      : corsRaw
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);

  const config: AppConfig = {
    env: v.NODE_ENV,
    role: v.ROLE,
    http: {
      host: v.HOST,
      port: v.PORT,
      bodyLimitBytes: v.BODY_LIMIT_BYTES,
      bodyMaxDepth: v.BODY_MAX_DEPTH,
      corsOrigins,
      trustProxy: v.TRUST_PROXY,
    },
    database: {
      url: v.DATABASE_URL,
      directUrl: directUrlOf(v.DATABASE_DIRECT_URL, v.DATABASE_URL),
      poolSize: v.DATABASE_POOL_SIZE,
      preparedStatements: v.DATABASE_PREPARED_STATEMENTS,
      replicaUrls,
      replicaMaxLagMs: v.DATABASE_REPLICA_MAX_LAG_MS,
    },
    redis: readRedisConfig(env, v, problems),
    queue: {
      prefix: v.QUEUE_PREFIX,
      backoffDelayMs: v.QUEUE_BACKOFF_DELAY_MS,
      lockDurationMs: v.QUEUE_LOCK_DURATION_MS,
      stalledIntervalMs: v.QUEUE_STALLED_INTERVAL_MS,
      concurrency: {
        orderProcessing: v.QUEUE_CONCURRENCY_ORDER_PROCESSING,
        paymentProcessing: paymentConcurrency,
        inventoryManagement: v.QUEUE_CONCURRENCY_INVENTORY_MANAGEMENT,
        notificationSending: v.QUEUE_CONCURRENCY_NOTIFICATION_SENDING,
      },
      ratePerSecond: {
        paymentProcessing: v.QUEUE_RATE_PAYMENT_PROCESSING,
        notificationSending: v.QUEUE_RATE_NOTIFICATION_SENDING,
      },
      metricsIntervalMs: v.QUEUE_METRICS_INTERVAL_MS,
      progressIntervalMs: v.QUEUE_PROGRESS_INTERVAL_MS,
      health: {
        waitingThreshold: v.QUEUE_HEALTH_WAITING_THRESHOLD,
        failedThreshold: v.QUEUE_HEALTH_FAILED_THRESHOLD,
        delayedThreshold: v.QUEUE_HEALTH_DELAYED_THRESHOLD,
      },
    },
    outbox: {
      pollIntervalMs: v.OUTBOX_POLL_INTERVAL_MS,
      batchSize: v.OUTBOX_BATCH_SIZE,
      maxAttempts: v.OUTBOX_MAX_ATTEMPTS,
      retryBaseDelayMs: v.OUTBOX_RETRY_BASE_DELAY_MS,
      retryMaxDelayMs: v.OUTBOX_RETRY_MAX_DELAY_MS,
      publishTimeoutMs: v.OUTBOX_PUBLISH_TIMEOUT_MS,
      retentionHours: v.OUTBOX_RETENTION_HOURS,
      pruneIntervalMs: v.OUTBOX_PRUNE_INTERVAL_MS,
      healthMaxAgeSeconds: v.OUTBOX_HEALTH_MAX_AGE_SECONDS,
    },
    eventStream: {
      url: v.EVENT_STREAM_URL,
      streamName: v.EVENT_STREAM_NAME,
      subjectPrefix: v.EVENT_STREAM_SUBJECT_PREFIX,
      duplicateWindowSeconds: v.EVENT_STREAM_DUPLICATE_WINDOW_SECONDS,
      pollIntervalMs: v.EVENT_STREAM_POLL_INTERVAL_MS,
      retryMaxDelayMs: v.EVENT_STREAM_RETRY_MAX_DELAY_MS,
      crashAfterBatches: v.EVENT_STREAM_CRASH_AFTER_BATCHES,
    },
    auth: {
      jwtSecret: v.JWT_SECRET ?? randomBytes(48).toString('base64url'),
      jwtSecretGenerated: v.JWT_SECRET === undefined,
      accessTokenTtlSeconds: v.JWT_ACCESS_TTL_SECONDS,
      refreshTokenTtlSeconds: v.JWT_REFRESH_TTL_SECONDS,
      loginThrottle: {
        windowSeconds: v.LOGIN_THROTTLE_WINDOW_SECONDS,
        maxPerEmail: v.LOGIN_THROTTLE_MAX_PER_EMAIL,
        maxPerIp: v.LOGIN_THROTTLE_MAX_PER_IP,
      },
      standingCacheMs: v.AUTH_STANDING_CACHE_MS,
      standingCacheDegradedMs: v.AUTH_STANDING_CACHE_DEGRADED_MS,
    },
    admin: { email: v.ADMIN_EMAIL.toLowerCase(), password: v.ADMIN_PASSWORD },
    seed: { demo: v.SEED_DEMO },
    payment: {
      successRate: v.PAYMENT_SUCCESS_RATE,
      transientFailureRate: v.PAYMENT_TRANSIENT_FAILURE_RATE,
      latencyMinMs: v.PAYMENT_LATENCY_MIN_MS,
      latencyMaxMs: v.PAYMENT_LATENCY_MAX_MS,
      fraudLimit: v.PAYMENT_FRAUD_LIMIT,
      randomSeed: v.PAYMENT_RANDOM_SEED,
      dropResponseRate: v.PAYMENT_DROP_RESPONSE_RATE,
      outageFile: v.PAYMENT_OUTAGE_FILE,
      gatewayRatePerSecond: v.PAYMENT_GATEWAY_RATE_PER_SECOND,
      gatewayBurst: v.PAYMENT_GATEWAY_BURST,
      paceMaxWaitMs,
      bankTransferSettleMs: v.PAYMENT_BANK_TRANSFER_SETTLE_MS,
      webhookSecret: v.PAYMENT_WEBHOOK_SECRET,
      webhookUrl: v.PAYMENT_WEBHOOK_URL ?? `http://127.0.0.1:${v.PORT}/api/v1/payments/webhook`,
      breaker: {
        timeoutMs: v.PAYMENT_BREAKER_TIMEOUT_MS,
        errorThresholdPercent: v.PAYMENT_BREAKER_ERROR_THRESHOLD_PERCENT,
        resetTimeoutMs: v.PAYMENT_BREAKER_RESET_TIMEOUT_MS,
        volumeThreshold: v.PAYMENT_BREAKER_VOLUME_THRESHOLD,
      },
    },
    notification: {
      successRate: v.NOTIFICATION_SUCCESS_RATE,
      randomSeed: v.NOTIFICATION_RANDOM_SEED,
      smtpUrl: v.SMTP_URL,
      emailFrom: v.EMAIL_FROM,
      perUserHourlyLimit: v.NOTIFICATION_USER_HOURLY_LIMIT,
      keepLastMessages: v.NOTIFICATION_KEEP_LAST_MESSAGES,
    },
    inventory: {
      reservationTtlSeconds: v.RESERVATION_TTL_SECONDS,
      expiryIntervalMs: v.RESERVATION_EXPIRY_INTERVAL_MS,
      expiryBatchSize: v.RESERVATION_EXPIRY_BATCH_SIZE,
    },
    catalogue: {
      cacheTtlSeconds: v.PRODUCT_CACHE_TTL_SECONDS,
      cachedListingPages: v.PRODUCT_CACHE_LISTING_PAGES,
    },
    saga: {
      timeoutSeconds: v.SAGA_TIMEOUT_SECONDS,
      stallSeconds: v.SAGA_STALL_SECONDS,
      recoveryIntervalMs: v.SAGA_RECOVERY_INTERVAL_MS,
      batchSize: v.SAGA_BATCH_SIZE,
      crashAt,
    },
    invariants: {
      recoveryWindowSeconds: v.INVARIANT_RECOVERY_WINDOW_SECONDS ?? v.SAGA_TIMEOUT_SECONDS + 60,
      outboxLagSeconds: v.INVARIANT_OUTBOX_LAG_SECONDS,
      deadLetterAgeSeconds: v.INVARIANT_DEAD_LETTER_AGE_SECONDS,
      sampleRows: v.INVARIANT_SAMPLE_ROWS,
      // Off by default in tests: a spec that wants the periodic run enables it.
      intervalMs: v.INVARIANT_CHECK_INTERVAL_MS ?? (v.NODE_ENV === 'test' ? 0 : 60_000),
    },
    retention: {
      pruneIntervalMs: v.RETENTION_PRUNE_INTERVAL_MS,
      batchSize: v.RETENTION_PRUNE_BATCH_SIZE,
      idempotencyKeyTtlSeconds: v.IDEMPOTENCY_KEY_TTL_SECONDS,
      idempotencySeconds: v.IDEMPOTENCY_RETENTION_SECONDS,
      inboxSeconds: v.INBOX_RETENTION_SECONDS,
      refreshTokenSeconds: v.REFRESH_TOKEN_RETENTION_SECONDS,
      deadLetterSeconds: v.DEAD_LETTER_RETENTION_SECONDS,
      notificationBodySeconds: v.NOTIFICATION_BODY_RETENTION_SECONDS,
      sagaTimelineSeconds: v.SAGA_TIMELINE_RETENTION_SECONDS,
    },
    rateLimit: {
      perMinute: v.RATE_LIMIT_PER_MINUTE,
      storeTimeoutMs: v.RATE_LIMIT_STORE_TIMEOUT_MS,
      storeRetryMs: v.RATE_LIMIT_STORE_RETRY_MS,
    },
    webhooks: {
      allowInsecure: v.WEBHOOK_ALLOW_INSECURE,
      allowPrivateTargets: v.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      timeoutMs: v.WEBHOOK_TIMEOUT_MS,
      retryScheduleMs: readDurations('WEBHOOK_RETRY_SCHEDULE', v.WEBHOOK_RETRY_SCHEDULE, problems),
      disableAfterSeconds: v.WEBHOOK_DISABLE_AFTER_SECONDS,
      secretGraceSeconds: v.WEBHOOK_SECRET_GRACE_SECONDS,
      deliveryConcurrency: v.WEBHOOK_DELIVERY_CONCURRENCY,
      endpointConcurrency: v.WEBHOOK_ENDPOINT_CONCURRENCY,
      dispatchIntervalMs: v.WEBHOOK_DISPATCH_INTERVAL_MS,
      leaseMs: v.WEBHOOK_LEASE_MS ?? v.WEBHOOK_TIMEOUT_MS + 60_000,
      secretsKey: webhookSecretsKey(v.WEBHOOK_SECRETS_KEY, v.JWT_SECRET),
    },
    log: { level: v.LOG_LEVEL },
    tracing: {
      enabled: v.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined,
      tracesUrl:
        v.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
          ? undefined
          : `${v.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`,
      protocol: v.OTEL_EXPORTER_OTLP_PROTOCOL,
      serviceName: v.OTEL_SERVICE_NAME,
      sampler: v.OTEL_TRACES_SAMPLER,
      samplerArg: v.OTEL_TRACES_SAMPLER_ARG,
    },
    metrics: { token: v.METRICS_TOKEN, workerPort: v.WORKER_METRICS_PORT },
    health: {
      heapLimitBytes: v.HEALTH_HEAP_LIMIT_MB * MIB,
      rssLimitBytes: v.HEALTH_RSS_LIMIT_MB * MIB,
      diskMinFreeRatio: v.HEALTH_DISK_MIN_FREE_RATIO,
    },
    startup: { connectTimeoutMs: v.STARTUP_CONNECT_TIMEOUT_MS },
    shutdown: { timeoutMs: v.SHUTDOWN_TIMEOUT_MS },
  };

  if (problems.length > 0) {
    throw new ConfigValidationError(problems);
  }
  return config;
}

/** How long BullMQ keeps a failed job, which Bull Board can retry with the same job id (queue-options.ts). */
export const FAILED_JOB_RETENTION_SECONDS = 7 * 86_400;
/** How long a payment gateway retries an unacknowledged webhook (Stripe: up to 3 days). */
export const PAYMENT_WEBHOOK_RETRY_SECONDS = 3 * 86_400;

/**
 * The inbox rule: a message may come again as long as its sender can redeliver it — an outbox replay
 * within the outbox retention, a failed job retried from Redis, a gateway retrying a webhook — so the
 * inbox keeps message ids at least that long.
 */
export function redeliveryHorizon(outboxRetentionHours: number): { seconds: number; source: string } {
  const horizons = [
    { seconds: outboxRetentionHours * 3600, source: 'OUTBOX_RETENTION_HOURS, outbox replay' },
    { seconds: FAILED_JOB_RETENTION_SECONDS, source: 'failed jobs kept 7 days for retry' },
    { seconds: PAYMENT_WEBHOOK_RETRY_SECONDS, source: 'payment webhooks retried for 3 days' },
  ];
  return horizons.reduce((longest, h) => (h.seconds > longest.seconds ? h : longest));
}

/**
 * DATABASE_DIRECT_URL, with DATABASE_URL's database when it names none: one direct server URL then
 * serves every database the pooler fronts (and every test database).
 */
function directUrlOf(direct: string | undefined, url: string): string {
  if (direct === undefined) {
    return url;
  }
  const parsed = new URL(direct);
  if (parsed.pathname === '' || parsed.pathname === '/') {
    parsed.pathname = new URL(url).pathname;
  }
  return parsed.toString();
}

/**
 * Standalone unless REDIS_SENTINELS or REDIS_CLUSTER_NODES is given; REDIS_URL counts as a choice only
 * when set explicitly, so two explicit choices are refused instead of one silently winning.
 */
function readRedisConfig(
  env: Env,
  v: ReturnType<typeof readVariables>['values'],
  problems: string[],
): RedisConfig {
  const given = (name: string): boolean => env[name] !== undefined && env[name] !== '';
  const chosen = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].filter(given);
  if (chosen.length > 1) {
    problems.push(
      `${chosen.join(' and ')} are set together: choose one Redis mode (REDIS_URL standalone, REDIS_SENTINELS Sentinel or REDIS_CLUSTER_NODES Cluster)`,
    );
  }
  const mode: RedisMode = chosen.includes('REDIS_SENTINELS')
    ? 'sentinel'
    : chosen.includes('REDIS_CLUSTER_NODES')
      ? 'cluster'
      : 'standalone';
  if (mode === 'standalone' && v.REDIS_PASSWORD !== undefined) {
    problems.push(
      'REDIS_PASSWORD applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL put the password in the URL (redis://:password@host:6379)',
    );
  }
  if (mode !== 'sentinel') {
    // Not REDIS_SENTINEL_MASTER: .env.example spells its default out, and a default harms nobody.
    if (given('REDIS_SENTINEL_PASSWORD')) {
      problems.push(
        'REDIS_SENTINEL_PASSWORD is set but REDIS_SENTINELS is not: it only applies in Sentinel mode',
      );
    }
  }
  return {
    mode,
    url: v.REDIS_URL,
    sentinels: mode === 'sentinel' ? readNodeList('REDIS_SENTINELS', v.REDIS_SENTINELS ?? '', problems) : [],
    sentinelMaster: v.REDIS_SENTINEL_MASTER,
    clusterNodes:
      mode === 'cluster' ? readNodeList('REDIS_CLUSTER_NODES', v.REDIS_CLUSTER_NODES ?? '', problems) : [],
    password: v.REDIS_PASSWORD,
    sentinelPassword: v.REDIS_SENTINEL_PASSWORD,
  };
}

/** `host:port,host:port` (IPv6 as `[::1]:7000`); every entry must name a host and a port. */
function readNodeList(name: string, raw: string, problems: string[]): RedisNode[] {
  const nodes: RedisNode[] = [];
  for (const entry of raw.split(',').map((e) => e.trim())) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      problems.push(`${name}="${raw}" must be a comma-separated list of host:port (bad entry "${entry}")`);
      return [];
    }
    nodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  return nodes;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `5s,5m,2h`: a list of durations with units, in milliseconds; at least one, none of them zero. */
export function readDurations(name: string, raw: string, problems: string[]): number[] {
  const out: number[] = [];
  for (const entry of raw.split(',').map((e) => e.trim())) {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(entry);
    const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2]] : 0;
    if (!match || ms <= 0) {
      problems.push(
        `${name}="${raw}" must be a comma-separated list of durations like 5s,5m,2h (bad entry "${entry}")`,
      );
      return [1000];
    }
    out.push(ms);
  }
  return out;
}

/**
 * WEBHOOK_SECRETS_KEY hashed to 32 bytes; without it a key derived from JWT_SECRET, or (JWT_SECRET random
 * per start in development) a fixed development key, so registered endpoints survive a restart.
 */
function webhookSecretsKey(explicit: string | undefined, jwtSecret: string | undefined): Buffer {
  if (explicit !== undefined) {
    return createHash('sha256').update(explicit).digest();
  }
  const base = jwtSecret ?? 'async-order-processor development webhook secrets key';
  return Buffer.from(hkdfSync('sha256', base, 'aop', 'webhook-secrets', 32));
}

/** A URL fit for logs and error messages: the password is replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = '***';
    }
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
