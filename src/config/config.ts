import { randomBytes } from 'node:crypto';

/**
 * The one place that reads process.env. Every variable has a working default (DESIGN §7) except the
 * production-only secrets; `loadConfig` reports every bad value at once, by name, with the reason.
 */

export type Role = 'api' | 'worker' | 'all';
export type NodeEnv = 'development' | 'production' | 'test';

export interface AppConfig {
  env: NodeEnv;
  role: Role;
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    corsOrigins: string[] | true;
    trustProxy: boolean;
  };
  database: { url: string; poolSize: number };
  redis: { url: string };
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
  auth: {
    jwtSecret: string;
    jwtSecretGenerated: boolean;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    loginThrottle: { windowSeconds: number; maxPerEmail: number; maxPerIp: number };
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
    /** Offending rows reported per check (the count is always exact). */
    sampleRows: number;
    /** How often the worker role runs the checker; 0 turns the periodic run off. */
    intervalMs: number;
  };
  rateLimit: { perMinute: number };
  log: { level: string };
  /** `workerPort`: where a ROLE=worker process serves /metrics; unset = it listens on nothing. */
  metrics: { token: string | undefined; workerPort: number | undefined };
  /** /health/detailed thresholds: crossing one reports the check as `up` with `degraded: true`. */
  health: { heapLimitBytes: number; rssLimitBytes: number; diskMinFreeRatio: number };
  startup: { connectTimeoutMs: number };
  shutdown: { timeoutMs: number };
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Collects problems instead of throwing at the first one, so a user fixes all of them in one go. */
class Reader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? fallback : raw;
  }

  optional(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(name, fallback);
    if ((allowed as readonly string[]).includes(value)) {
      return value as T;
    }
    this.problems.push(`${name}="${value}" must be one of: ${allowed.join(', ')}`);
    return fallback;
  }

  integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.optional(name);
    if (raw === undefined) {
      return fallback;
    }
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      this.problems.push(`${name}="${raw}" must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) {
      return fallback;
    }
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${name}="${raw}" must be a number between ${min} and ${max}`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.optional(name);
    if (raw === undefined) {
      return fallback;
    }
    const value = raw.toLowerCase();
    if (['true', '1', 'yes'].includes(value)) {
      return true;
    }
    if (['false', '0', 'no'].includes(value)) {
      return false;
    }
    this.problems.push(`${name}="${raw}" must be true or false`);
    return fallback;
  }

  url(name: string, fallback: string, protocols: string[]): string {
    const value = this.string(name, fallback);
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) {
        this.problems.push(
          `${name} must use one of the protocols ${protocols.join(', ')} (got ${parsed.protocol})`,
        );
      }
    } catch {
      this.problems.push(`${name} is not a valid URL`);
    }
    return value;
  }
}

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/async_orders';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const MIB = 1024 * 1024;

export function loadConfig(env: Env = process.env): AppConfig {
  const r = new Reader(env);
  const nodeEnv = r.oneOf<NodeEnv>('NODE_ENV', ['development', 'production', 'test'], 'development');
  const production = nodeEnv === 'production';

  const jwtSecretRaw = r.optional('JWT_SECRET');
  if (jwtSecretRaw !== undefined && Buffer.byteLength(jwtSecretRaw) < 32) {
    r.problems.push('JWT_SECRET must be at least 32 bytes long');
  }
  if (production && jwtSecretRaw === undefined) {
    r.problems.push('JWT_SECRET is required when NODE_ENV=production (at least 32 random bytes)');
  }
  const adminPassword = r.optional('ADMIN_PASSWORD');
  if (production && adminPassword === undefined) {
    r.problems.push('ADMIN_PASSWORD is required when NODE_ENV=production');
  }

  const successRate = r.number('PAYMENT_SUCCESS_RATE', 0.8, 0, 1);
  const transientFailureRate = r.number('PAYMENT_TRANSIENT_FAILURE_RATE', 0.15, 0, 1);
  if (successRate + transientFailureRate > 1) {
    r.problems.push('PAYMENT_SUCCESS_RATE + PAYMENT_TRANSIENT_FAILURE_RATE must not exceed 1');
  }
  const latencyMinMs = r.integer('PAYMENT_LATENCY_MIN_MS', 100, 0, 60_000);
  const latencyMaxMs = r.integer('PAYMENT_LATENCY_MAX_MS', 2000, 0, 60_000);
  if (latencyMinMs > latencyMaxMs) {
    r.problems.push('PAYMENT_LATENCY_MIN_MS must not exceed PAYMENT_LATENCY_MAX_MS');
  }
  const seedRaw = r.optional('PAYMENT_RANDOM_SEED');
  const randomSeed = seedRaw === undefined ? undefined : r.integer('PAYMENT_RANDOM_SEED', 0, 0, 2 ** 31 - 1);

  const outboxRetryBase = r.integer('OUTBOX_RETRY_BASE_DELAY_MS', 500, 1, 3_600_000);
  const outboxRetryMax = r.integer('OUTBOX_RETRY_MAX_DELAY_MS', 300_000, 1, 86_400_000);
  if (outboxRetryBase > outboxRetryMax) {
    r.problems.push('OUTBOX_RETRY_BASE_DELAY_MS must not exceed OUTBOX_RETRY_MAX_DELAY_MS');
  }
  const notificationSeedRaw = r.optional('NOTIFICATION_RANDOM_SEED');
  const notificationSeed =
    notificationSeedRaw === undefined ? undefined : r.integer('NOTIFICATION_RANDOM_SEED', 0, 0, 2 ** 31 - 1);
  const port = r.integer('PORT', 3000, 0, 65535);
  const sagaTimeoutSeconds = r.integer('SAGA_TIMEOUT_SECONDS', 600, 1, 7 * 86_400);
  const webhookSecret = r.optional('PAYMENT_WEBHOOK_SECRET');
  if (production && webhookSecret === undefined) {
    r.problems.push('PAYMENT_WEBHOOK_SECRET is required when NODE_ENV=production');
  }
  const smtpUrl = r.optional('SMTP_URL');
  if (smtpUrl !== undefined) {
    r.url('SMTP_URL', smtpUrl, ['smtp:', 'smtps:']);
  }
  const breakerTimeoutMs = r.integer('PAYMENT_BREAKER_TIMEOUT_MS', 5000, 10, 120_000);
  if (breakerTimeoutMs <= latencyMaxMs) {
    r.problems.push('PAYMENT_BREAKER_TIMEOUT_MS must exceed PAYMENT_LATENCY_MAX_MS');
  }

  const outageFile = r.optional('PAYMENT_OUTAGE_FILE');
  if (outageFile !== undefined && production) {
    r.problems.push('PAYMENT_OUTAGE_FILE is a fault-injection hook and is refused when NODE_ENV=production');
  }

  const crashAtRaw = r.optional('CRASH_AT');
  let crashAt: AppConfig['saga']['crashAt'];
  if (crashAtRaw !== undefined) {
    // Split at the last colon: the step itself may hold one (`compensate:reserveInventory:after`).
    const split = crashAtRaw.lastIndexOf(':');
    const step = split > 0 ? crashAtRaw.slice(0, split) : '';
    const when = crashAtRaw.slice(split + 1);
    if (production) {
      r.problems.push('CRASH_AT is a fault-injection hook and is refused when NODE_ENV=production');
    } else if (!step || (when !== 'before' && when !== 'after')) {
      r.problems.push(`CRASH_AT="${crashAtRaw}" must look like <saga step>:<before|after>`);
    } else {
      crashAt = { step, when };
    }
  }

  const corsRaw = r.string('CORS_ORIGINS', production ? '' : '*');
  const corsOrigins: string[] | true =
    corsRaw === '*'
      ? true
      : corsRaw
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);

  const config: AppConfig = {
    env: nodeEnv,
    role: r.oneOf<Role>('ROLE', ['api', 'worker', 'all'], 'all'),
    http: {
      host: r.string('HOST', '0.0.0.0'),
      port,
      bodyLimitBytes: r.integer('BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
      corsOrigins,
      trustProxy: r.boolean('TRUST_PROXY', false),
    },
    database: {
      url: r.url('DATABASE_URL', DEFAULT_DATABASE_URL, ['postgres:', 'postgresql:']),
      poolSize: r.integer('DATABASE_POOL_SIZE', 10, 1, 200),
    },
    redis: { url: r.url('REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']) },
    queue: {
      prefix: r.string('QUEUE_PREFIX', '{aop}'),
      backoffDelayMs: r.integer('QUEUE_BACKOFF_DELAY_MS', 1000, 1, 3_600_000),
      lockDurationMs: r.integer('QUEUE_LOCK_DURATION_MS', 30_000, 100, 3_600_000),
      stalledIntervalMs: r.integer('QUEUE_STALLED_INTERVAL_MS', 30_000, 100, 3_600_000),
      concurrency: {
        orderProcessing: r.integer('QUEUE_CONCURRENCY_ORDER_PROCESSING', 20, 1, 1000),
        paymentProcessing: r.integer('QUEUE_CONCURRENCY_PAYMENT_PROCESSING', 10, 1, 1000),
        inventoryManagement: r.integer('QUEUE_CONCURRENCY_INVENTORY_MANAGEMENT', 5, 1, 1000),
        notificationSending: r.integer('QUEUE_CONCURRENCY_NOTIFICATION_SENDING', 10, 1, 1000),
      },
      ratePerSecond: {
        paymentProcessing: r.integer('QUEUE_RATE_PAYMENT_PROCESSING', 100, 0, 1_000_000),
        notificationSending: r.integer('QUEUE_RATE_NOTIFICATION_SENDING', 200, 0, 1_000_000),
      },
      metricsIntervalMs: r.integer('QUEUE_METRICS_INTERVAL_MS', 15_000, 100, 3_600_000),
      health: {
        waitingThreshold: r.integer('QUEUE_HEALTH_WAITING_THRESHOLD', 1000, 0),
        failedThreshold: r.integer('QUEUE_HEALTH_FAILED_THRESHOLD', 100, 0),
        delayedThreshold: r.integer('QUEUE_HEALTH_DELAYED_THRESHOLD', 1000, 0),
      },
    },
    outbox: {
      pollIntervalMs: r.integer('OUTBOX_POLL_INTERVAL_MS', 1000, 10, 600_000),
      batchSize: r.integer('OUTBOX_BATCH_SIZE', 200, 1, 10_000),
      maxAttempts: r.integer('OUTBOX_MAX_ATTEMPTS', 10, 1, 1000),
      retryBaseDelayMs: outboxRetryBase,
      retryMaxDelayMs: outboxRetryMax,
      publishTimeoutMs: r.integer('OUTBOX_PUBLISH_TIMEOUT_MS', 5000, 50, 600_000),
      retentionHours: r.integer('OUTBOX_RETENTION_HOURS', 168, 1, 24 * 3650),
      pruneIntervalMs: r.integer('OUTBOX_PRUNE_INTERVAL_MS', 3_600_000, 1000, 86_400_000),
      healthMaxAgeSeconds: r.integer('OUTBOX_HEALTH_MAX_AGE_SECONDS', 60, 1, 86_400),
    },
    auth: {
      jwtSecret: jwtSecretRaw ?? randomBytes(48).toString('base64url'),
      jwtSecretGenerated: jwtSecretRaw === undefined,
      accessTokenTtlSeconds: r.integer('JWT_ACCESS_TTL_SECONDS', 900, 10, 86_400),
      refreshTokenTtlSeconds: r.integer('JWT_REFRESH_TTL_SECONDS', 7 * 86_400, 60, 90 * 86_400),
      loginThrottle: {
        windowSeconds: r.integer('LOGIN_THROTTLE_WINDOW_SECONDS', 900, 1, 86_400),
        maxPerEmail: r.integer('LOGIN_THROTTLE_MAX_PER_EMAIL', 5, 1, 1000),
        maxPerIp: r.integer('LOGIN_THROTTLE_MAX_PER_IP', 20, 1, 100_000),
      },
    },
    admin: {
      email: r.string('ADMIN_EMAIL', 'admin@example.com').toLowerCase(),
      password: adminPassword ?? 'Admin123!',
    },
    seed: { demo: r.boolean('SEED_DEMO', true) },
    payment: {
      successRate,
      transientFailureRate,
      latencyMinMs,
      latencyMaxMs,
      fraudLimit: r.number('PAYMENT_FRAUD_LIMIT', 1000, 0, 1e12),
      randomSeed,
      dropResponseRate: r.number('PAYMENT_DROP_RESPONSE_RATE', 0, 0, 1),
      outageFile: production ? undefined : outageFile,
      gatewayRatePerSecond: r.number('PAYMENT_GATEWAY_RATE_PER_SECOND', 100, 0.001, 1e6),
      gatewayBurst: r.integer('PAYMENT_GATEWAY_BURST', 100, 1, 1e6),
      bankTransferSettleMs: r.integer('PAYMENT_BANK_TRANSFER_SETTLE_MS', 5000, 0, 86_400_000),
      webhookSecret: webhookSecret ?? 'whsec_development_only_change_me',
      webhookUrl: r.url('PAYMENT_WEBHOOK_URL', `http://127.0.0.1:${port}/api/v1/payments/webhook`, [
        'http:',
        'https:',
      ]),
      breaker: {
        timeoutMs: breakerTimeoutMs,
        errorThresholdPercent: r.integer('PAYMENT_BREAKER_ERROR_THRESHOLD_PERCENT', 50, 1, 100),
        resetTimeoutMs: r.integer('PAYMENT_BREAKER_RESET_TIMEOUT_MS', 30_000, 10, 3_600_000),
        volumeThreshold: r.integer('PAYMENT_BREAKER_VOLUME_THRESHOLD', 10, 1, 10_000),
      },
    },
    notification: {
      successRate: r.number('NOTIFICATION_SUCCESS_RATE', 0.95, 0, 1),
      randomSeed: notificationSeed,
      smtpUrl,
      emailFrom: r.string('EMAIL_FROM', 'Async Orders <no-reply@async-orders.local>'),
      perUserHourlyLimit: r.integer('NOTIFICATION_USER_HOURLY_LIMIT', 20, 0, 1_000_000),
      keepLastMessages: r.integer('NOTIFICATION_KEEP_LAST_MESSAGES', 100, 0, 10_000),
    },
    inventory: {
      reservationTtlSeconds: r.integer('RESERVATION_TTL_SECONDS', 900, 1, 7 * 86_400),
      expiryIntervalMs: r.integer('RESERVATION_EXPIRY_INTERVAL_MS', 5000, 100, 3_600_000),
      expiryBatchSize: r.integer('RESERVATION_EXPIRY_BATCH_SIZE', 100, 1, 10_000),
    },
    catalogue: {
      cacheTtlSeconds: r.integer('PRODUCT_CACHE_TTL_SECONDS', 60, 0, 86_400),
      cachedListingPages: r.integer('PRODUCT_CACHE_LISTING_PAGES', 3, 0, 100),
    },
    saga: {
      timeoutSeconds: sagaTimeoutSeconds,
      stallSeconds: r.integer('SAGA_STALL_SECONDS', 30, 1, 86_400),
      recoveryIntervalMs: r.integer('SAGA_RECOVERY_INTERVAL_MS', 5000, 50, 3_600_000),
      batchSize: r.integer('SAGA_BATCH_SIZE', 100, 1, 1000),
      crashAt,
    },
    invariants: {
      recoveryWindowSeconds: r.integer(
        'INVARIANT_RECOVERY_WINDOW_SECONDS',
        sagaTimeoutSeconds + 60,
        0,
        30 * 86_400,
      ),
      outboxLagSeconds: r.integer('INVARIANT_OUTBOX_LAG_SECONDS', 60, 0, 86_400),
      sampleRows: r.integer('INVARIANT_SAMPLE_ROWS', 20, 1, 10_000),
      // Off by default in tests: a spec that wants the periodic run enables it.
      intervalMs: r.integer('INVARIANT_CHECK_INTERVAL_MS', nodeEnv === 'test' ? 0 : 60_000, 0, 86_400_000),
    },
    rateLimit: { perMinute: r.integer('RATE_LIMIT_PER_MINUTE', 1200, 0, 10_000_000) },
    log: {
      level: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    },
    metrics: {
      token: r.optional('METRICS_TOKEN'),
      workerPort:
        r.optional('WORKER_METRICS_PORT') === undefined
          ? undefined
          : r.integer('WORKER_METRICS_PORT', 9464, 1, 65535),
    },
    health: {
      heapLimitBytes: r.integer('HEALTH_HEAP_LIMIT_MB', 512, 1, 1_048_576) * MIB,
      rssLimitBytes: r.integer('HEALTH_RSS_LIMIT_MB', 1024, 1, 1_048_576) * MIB,
      diskMinFreeRatio: r.number('HEALTH_DISK_MIN_FREE_RATIO', 0.05, 0, 1),
    },
    startup: { connectTimeoutMs: r.integer('STARTUP_CONNECT_TIMEOUT_MS', 5000, 100, 60_000) },
    shutdown: { timeoutMs: r.integer('SHUTDOWN_TIMEOUT_MS', 8000, 100, 120_000) },
  };

  if (r.problems.length > 0) {
    throw new ConfigValidationError(r.problems);
  }
  return config;
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
