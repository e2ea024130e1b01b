import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigValidationError, loadConfig, redactUrl } from './config';
import { VARIABLES } from './variables';

describe(loadConfig.name, () => {
  describe('defaults', () => {
    it('starts with no configuration at all, using the documented defaults', () => {
      const sut = loadConfig({});
      expect(sut.role).toBe('all');
      expect(sut.http.port).toBe(3000);
      expect(sut.database.url).toBe('postgres://postgres@127.0.0.1:5432/async_orders');
      expect(sut.redis.url).toBe('redis://127.0.0.1:6379');
      expect(sut.queue.prefix).toBe('{aop}');
      expect(sut.payment).toMatchObject({
        successRate: 0.8,
        transientFailureRate: 0.15,
        latencyMinMs: 100,
        latencyMaxMs: 2000,
        fraudLimit: 1000,
      });
      expect(sut.payment).toMatchObject({
        dropResponseRate: 0,
        bankTransferSettleMs: 5000,
        webhookUrl: 'http://127.0.0.1:3000/api/v1/payments/webhook',
        breaker: { timeoutMs: 5000, errorThresholdPercent: 50, resetTimeoutMs: 30000, volumeThreshold: 10 },
      });
      expect(sut.notification).toMatchObject({
        successRate: 0.95,
        smtpUrl: undefined,
        perUserHourlyLimit: 20,
      });
      expect(sut.inventory.reservationTtlSeconds).toBe(900);
      expect(sut.saga.timeoutSeconds).toBe(600);
      expect(sut.rateLimit.perMinute).toBe(1200);
      expect(sut.seed.demo).toBe(true);
      expect(sut.admin.email).toBe('admin@example.com');
      expect(sut.outbox).toMatchObject({
        pollIntervalMs: 1000,
        batchSize: 200,
        maxAttempts: 10,
        retentionHours: 168,
      });
    });

    it('derives the invariant recovery window from the saga timeout and runs the checker every minute', () => {
      expect(loadConfig({}).invariants).toEqual({
        recoveryWindowSeconds: 660,
        outboxLagSeconds: 60,
        deadLetterAgeSeconds: 3600,
        sampleRows: 20,
        intervalMs: 60_000,
      });
      expect(loadConfig({ SAGA_TIMEOUT_SECONDS: '30' }).invariants.recoveryWindowSeconds).toBe(90);
      expect(loadConfig({ INVARIANT_RECOVERY_WINDOW_SECONDS: '0' }).invariants.recoveryWindowSeconds).toBe(0);
      expect(loadConfig({ NODE_ENV: 'test' }).invariants.intervalMs).toBe(0);
    });

    it('generates a JWT secret of at least 32 bytes in development and says so', () => {
      const sut = loadConfig({});
      expect(sut.auth.jwtSecretGenerated).toBe(true);
      expect(Buffer.byteLength(sut.auth.jwtSecret)).toBeGreaterThanOrEqual(32);
    });
  });

  describe('validation', () => {
    function problemsOf(env: Record<string, string | undefined>): string[] {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigValidationError);
        return (error as ConfigValidationError).problems;
      }
      throw new Error('expected the configuration to be refused');
    }

    it('reports every invalid variable by name with the reason, all at once', () => {
      const problems = problemsOf({
        PORT: 'abc',
        ROLE: 'boss',
        PAYMENT_SUCCESS_RATE: '1.5',
        DATABASE_URL: 'mysql://x/y',
        SEED_DEMO: 'maybe',
      });
      expect(problems).toHaveLength(5);
      expect(problems.join('\n')).toMatch(/PORT="abc" must be an integer/);
      expect(problems.join('\n')).toMatch(/ROLE="boss" must be one of: api, worker, all/);
      expect(problems.join('\n')).toMatch(/PAYMENT_SUCCESS_RATE="1.5" must be a number between 0 and 1/);
      expect(problems.join('\n')).toMatch(/DATABASE_URL must use one of the protocols/);
      expect(problems.join('\n')).toMatch(/SEED_DEMO="maybe" must be true or false/);
    });

    it('refuses an outbox retry base delay above its cap', () => {
      expect(problemsOf({ OUTBOX_RETRY_BASE_DELAY_MS: '5000', OUTBOX_RETRY_MAX_DELAY_MS: '1000' })).toEqual([
        'OUTBOX_RETRY_BASE_DELAY_MS must not exceed OUTBOX_RETRY_MAX_DELAY_MS',
      ]);
    });

    it('reads the webhook retry schedule with units, refusing a bad entry and a lease shorter than the timeout', () => {
      expect(loadConfig({}).webhooks).toMatchObject({
        retryScheduleMs: [
          5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 72_000_000,
        ],
        timeoutMs: 10_000,
        leaseMs: 70_000,
        allowInsecure: false,
        allowPrivateTargets: false,
      });
      expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '100ms, 2s,1m' }).webhooks.retryScheduleMs).toEqual([
        100, 2000, 60_000,
      ]);
      expect(problemsOf({ WEBHOOK_RETRY_SCHEDULE: '5s,soon' })).toEqual([
        'WEBHOOK_RETRY_SCHEDULE="5s,soon" must be a comma-separated list of durations like 5s,5m,2h (bad entry "soon")',
      ]);
      expect(problemsOf({ WEBHOOK_LEASE_MS: '5000', WEBHOOK_TIMEOUT_MS: '5000' })).toEqual([
        'WEBHOOK_LEASE_MS must exceed WEBHOOK_TIMEOUT_MS (an attempt must end before its lease does)',
      ]);
    });

    it('refuses a JWT secret shorter than 32 bytes', () => {
      expect(problemsOf({ JWT_SECRET: 'short' })).toEqual(['JWT_SECRET must be at least 32 bytes long']);
    });

    it('requires real secrets in production', () => {
      const problems = problemsOf({ NODE_ENV: 'production' });
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^JWT_SECRET is required/),
          expect.stringMatching(/^ADMIN_PASSWORD is required/),
        ]),
      );
    });

    it('refuses payment rates that add up to more than 1 and inverted latency bounds', () => {
      const problems = problemsOf({
        PAYMENT_SUCCESS_RATE: '0.9',
        PAYMENT_TRANSIENT_FAILURE_RATE: '0.2',
        PAYMENT_LATENCY_MIN_MS: '50',
        PAYMENT_LATENCY_MAX_MS: '10',
      });
      expect(problems).toEqual([
        'PAYMENT_SUCCESS_RATE + PAYMENT_TRANSIENT_FAILURE_RATE must not exceed 1',
        'PAYMENT_LATENCY_MIN_MS must not exceed PAYMENT_LATENCY_MAX_MS',
      ]);
    });

    it('reads the /health/detailed thresholds in MiB and refuses a free-disk ratio outside 0–1', () => {
      expect(loadConfig({}).health).toEqual({
        heapLimitBytes: 512 * 1024 * 1024,
        rssLimitBytes: 1024 * 1024 * 1024,
        diskMinFreeRatio: 0.05,
      });
      expect(
        loadConfig({
          HEALTH_HEAP_LIMIT_MB: '256',
          HEALTH_RSS_LIMIT_MB: '300',
          HEALTH_DISK_MIN_FREE_RATIO: '0.1',
        }).health,
      ).toEqual({
        heapLimitBytes: 256 * 1024 * 1024,
        rssLimitBytes: 300 * 1024 * 1024,
        diskMinFreeRatio: 0.1,
      });
      expect(problemsOf({ HEALTH_DISK_MIN_FREE_RATIO: '5', HEALTH_HEAP_LIMIT_MB: '0' })).toEqual([
        'HEALTH_HEAP_LIMIT_MB="0" must be an integer between 1 and 1048576',
        'HEALTH_DISK_MIN_FREE_RATIO="5" must be a number between 0 and 1',
      ]);
    });

    it('defaults login throttling to 5 failures per email and 20 per IP in 15 minutes', () => {
      expect(loadConfig({}).auth.loginThrottle).toEqual({ windowSeconds: 900, maxPerEmail: 5, maxPerIp: 20 });
      expect(problemsOf({ LOGIN_THROTTLE_WINDOW_SECONDS: '0' })).toEqual([
        'LOGIN_THROTTLE_WINDOW_SECONDS="0" must be an integer between 1 and 86400',
      ]);
    });

    it('reads the reservation expiry and product cache settings, refusing a zero interval', () => {
      expect(loadConfig({}).inventory).toMatchObject({ expiryIntervalMs: 5000, expiryBatchSize: 100 });
      expect(loadConfig({}).catalogue).toEqual({ cacheTtlSeconds: 60, cachedListingPages: 3 });
      expect(loadConfig({ PRODUCT_CACHE_TTL_SECONDS: '0' }).catalogue.cacheTtlSeconds).toBe(0);
      expect(problemsOf({ RESERVATION_EXPIRY_INTERVAL_MS: '0', RESERVATION_EXPIRY_BATCH_SIZE: 'x' })).toEqual(
        [
          'RESERVATION_EXPIRY_INTERVAL_MS="0" must be an integer between 100 and 3600000',
          'RESERVATION_EXPIRY_BATCH_SIZE="x" must be an integer between 1 and 10000',
        ],
      );
    });

    it('refuses a breaker timeout the normal gateway latency could reach, and a non-SMTP SMTP_URL', () => {
      expect(
        problemsOf({
          PAYMENT_LATENCY_MAX_MS: '3000',
          PAYMENT_BREAKER_TIMEOUT_MS: '3000',
          SMTP_URL: 'http://mail',
        }),
      ).toEqual([
        'SMTP_URL must use one of the protocols smtp:, smtps: (got http:)',
        'PAYMENT_BREAKER_TIMEOUT_MS must exceed PAYMENT_LATENCY_MAX_MS',
      ]);
    });

    it('requires the webhook secret in production', () => {
      expect(problemsOf({ NODE_ENV: 'production' })).toEqual(
        expect.arrayContaining(['PAYMENT_WEBHOOK_SECRET is required when NODE_ENV=production']),
      );
    });

    describe('production secrets (issue 20)', () => {
      const production = {
        NODE_ENV: 'production',
        JWT_SECRET: 'j'.repeat(40),
        ADMIN_PASSWORD: 'A-real-admin-password-1',
        PAYMENT_WEBHOOK_SECRET: 'whsec_live_0123456789abcdef',
        METRICS_TOKEN: 'metrics-token-0123456789',
      };

      it('starts with real secrets and keeps the metrics token', () => {
        expect(loadConfig(production).metrics.token).toBe('metrics-token-0123456789');
      });

      it('refuses the published development defaults, one line naming each variable', () => {
        expect(
          problemsOf({
            ...production,
            ADMIN_PASSWORD: 'Admin123!',
            PAYMENT_WEBHOOK_SECRET: 'whsec_development_only_change_me',
            JWT_SECRET: 'whsec_development_only_change_me',
            METRICS_TOKEN: 'whsec_development_only_change_me',
          }),
        ).toEqual([
          'JWT_SECRET is a published development default and is refused when NODE_ENV=production',
          'ADMIN_PASSWORD is a published development default and is refused when NODE_ENV=production',
          'PAYMENT_WEBHOOK_SECRET is a published development default and is refused when NODE_ENV=production',
          'METRICS_TOKEN is a published development default and is refused when NODE_ENV=production',
        ]);
        // Development keeps working with them.
        expect(loadConfig({ ADMIN_PASSWORD: 'Admin123!' }).admin.password).toBe('Admin123!');
      });

      it('requires a METRICS_TOKEN of at least 16 characters in production', () => {
        expect(problemsOf({ ...production, METRICS_TOKEN: undefined })).toEqual([
          expect.stringMatching(/^METRICS_TOKEN is required when NODE_ENV=production/),
        ]);
        expect(problemsOf({ ...production, METRICS_TOKEN: 'short' })).toEqual([
          'METRICS_TOKEN must be at least 16 characters when NODE_ENV=production',
        ]);
        expect(loadConfig({}).metrics.token).toBeUndefined();
      });
    });

    it('reads CRASH_AT for a compensation (`compensate:<step>:<when>`), refuses it in production', () => {
      expect(loadConfig({ CRASH_AT: 'chargePayment:after' }).saga.crashAt).toEqual({
        step: 'chargePayment',
        when: 'after',
      });
      expect(loadConfig({ CRASH_AT: 'compensate:reserveInventory:before' }).saga.crashAt).toEqual({
        step: 'compensate:reserveInventory',
        when: 'before',
      });
      expect(() => loadConfig({ CRASH_AT: 'chargePayment' })).toThrow(/CRASH_AT="chargePayment"/);
      expect(() => loadConfig({ CRASH_AT: 'chargePayment:during' })).toThrow(/CRASH_AT/);
      expect(() =>
        loadConfig({
          NODE_ENV: 'production',
          JWT_SECRET: 'x'.repeat(40),
          ADMIN_PASSWORD: 'Secret123!',
          PAYMENT_WEBHOOK_SECRET: 'whsec_x',
          CRASH_AT: 'chargePayment:after',
        }),
      ).toThrow(/refused when NODE_ENV=production/);
    });

    it('reads PAYMENT_OUTAGE_FILE (off by default) and refuses it in production', () => {
      expect(loadConfig({}).payment.outageFile).toBeUndefined();
      expect(loadConfig({ PAYMENT_OUTAGE_FILE: '/tmp/gateway-down' }).payment.outageFile).toBe(
        '/tmp/gateway-down',
      );
      expect(() =>
        loadConfig({
          NODE_ENV: 'production',
          JWT_SECRET: 'x'.repeat(40),
          ADMIN_PASSWORD: 'Secret123!',
          PAYMENT_WEBHOOK_SECRET: 'whsec_x',
          PAYMENT_OUTAGE_FILE: '/tmp/gateway-down',
        }),
      ).toThrow(/PAYMENT_OUTAGE_FILE is a fault-injection hook/);
    });

    it('reads the PostgreSQL pooling and replica settings: direct URL, prepared statements, replicas', () => {
      expect(loadConfig({}).database).toMatchObject({
        directUrl: 'postgres://postgres@127.0.0.1:5432/async_orders',
        preparedStatements: true,
        replicaUrls: [],
        replicaMaxLagMs: 1000,
      });
      const pooled = loadConfig({
        DATABASE_URL: 'postgres://app:pw@pgbouncer:6432/shop',
        DATABASE_DIRECT_URL: 'postgres://app:pw@primary:5432',
        DATABASE_PREPARED_STATEMENTS: 'false',
        DATABASE_REPLICA_URLS: 'postgres://app:pw@r1:5432/shop, postgres://app:pw@r2:5432/shop',
        DATABASE_REPLICA_MAX_LAG_MS: '250',
      }).database;
      // Without a database name, the direct URL takes DATABASE_URL's.
      expect(pooled).toMatchObject({
        url: 'postgres://app:pw@pgbouncer:6432/shop',
        directUrl: 'postgres://app:pw@primary:5432/shop',
        preparedStatements: false,
        replicaUrls: ['postgres://app:pw@r1:5432/shop', 'postgres://app:pw@r2:5432/shop'],
        replicaMaxLagMs: 250,
      });
      expect(() => loadConfig({ DATABASE_REPLICA_URLS: 'postgres://r1/shop,redis://r2' })).toThrow(
        /DATABASE_REPLICA_URLS must be comma-separated postgres:\/\/ URLs/,
      );
      expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'maybe' })).toThrow(
        /DATABASE_PREPARED_STATEMENTS/,
      );
    });

    it('sizes payment concurrency by the gateway rate × its slowest answer, and waits at most a breaker timeout', () => {
      const defaults = loadConfig({});
      // 100/s × 2 s × 1.25: enough charges in flight to reach the limit when the gateway is at its slowest.
      expect(defaults.queue.concurrency.paymentProcessing).toBe(250);
      expect(defaults.payment.paceMaxWaitMs).toBe(5000);
      expect(
        loadConfig({ PAYMENT_LATENCY_MIN_MS: '0', PAYMENT_LATENCY_MAX_MS: '0' }).queue.concurrency
          .paymentProcessing,
      ).toBe(10);
      expect(loadConfig({ QUEUE_RATE_PAYMENT_PROCESSING: '40' }).queue.concurrency.paymentProcessing).toBe(
        100,
      );
      expect(
        loadConfig({ QUEUE_RATE_PAYMENT_PROCESSING: '0', PAYMENT_GATEWAY_RATE_PER_SECOND: '1000000' }).queue
          .concurrency.paymentProcessing,
      ).toBe(1000);
      expect(
        loadConfig({ QUEUE_CONCURRENCY_PAYMENT_PROCESSING: '7' }).queue.concurrency.paymentProcessing,
      ).toBe(7);
      expect(() => loadConfig({ PAYMENT_PACE_MAX_WAIT_MS: '6000' })).toThrow(
        /PAYMENT_PACE_MAX_WAIT_MS must not exceed PAYMENT_BREAKER_TIMEOUT_MS/,
      );
    });

    it('defaults the retentions (issue 22) and refuses an inbox shorter than the redelivery horizon, in one line', () => {
      expect(loadConfig({}).retention).toEqual({
        pruneIntervalMs: 60_000,
        batchSize: 1000,
        idempotencyKeyTtlSeconds: 86_400,
        idempotencySeconds: 86_400,
        inboxSeconds: 14 * 86_400,
        refreshTokenSeconds: 30 * 86_400,
        deadLetterSeconds: 30 * 86_400,
        notificationBodySeconds: 90 * 86_400,
        sagaTimelineSeconds: 90 * 86_400,
        webhookDeliverySeconds: 30 * 86_400,
      });
      // Failed jobs are kept 7 days for retry: the inbox may not forget sooner.
      expect(loadConfig({ INBOX_RETENTION_SECONDS: String(7 * 86_400) }).retention.inboxSeconds).toBe(
        604_800,
      );
      const problemsOf = (env: Record<string, string>): string[] => {
        try {
          loadConfig(env);
        } catch (error) {
          return (error as ConfigValidationError).problems;
        }
        return [];
      };
      expect(
        problemsOf({ OUTBOX_RETENTION_HOURS: '24', INBOX_RETENTION_SECONDS: String(7 * 86_400 - 1) }),
      ).toEqual([
        expect.stringMatching(
          /^INBOX_RETENTION_SECONDS=604799 is shorter than the longest redelivery horizon \(604800 s: failed jobs/,
        ),
      ]);
      // A longer outbox retention (an outbox replay) lengthens the horizon; the message names it.
      expect(problemsOf({ OUTBOX_RETENTION_HOURS: String(24 * 30) })).toEqual([
        expect.stringMatching(/^INBOX_RETENTION_SECONDS=1209600 .*\(2592000 s: OUTBOX_RETENTION_HOURS/),
      ]);
    });

    it('accepts RATE_LIMIT_PER_MINUTE=0 to turn the limit off', () => {
      expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '0' }).rateLimit.perMinute).toBe(0);
    });

    it('turns tracing on exactly when OTEL_EXPORTER_OTLP_ENDPOINT is set, with the standard variables', () => {
      expect(loadConfig({}).tracing).toEqual({
        enabled: false,
        tracesUrl: undefined,
        protocol: 'http/protobuf',
        serviceName: 'async-order-processor',
        sampler: 'parentbased_always_on',
        samplerArg: 1,
      });
      expect(
        loadConfig({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_SERVICE_NAME: 'orders-eu',
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '0.25',
        }).tracing,
      ).toEqual({
        enabled: true,
        tracesUrl: 'http://collector:4318/v1/traces',
        protocol: 'http/json',
        serviceName: 'orders-eu',
        sampler: 'parentbased_traceidratio',
        samplerArg: 0.25,
      });
      expect(
        problemsOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_SAMPLER: 'jaeger_remote' }).join('\n'),
      ).toMatch(
        /OTEL_EXPORTER_OTLP_PROTOCOL="grpc" must be one of: http\/protobuf, http\/json[\s\S]*OTEL_TRACES_SAMPLER="jaeger_remote"/,
      );
    });
  });

  describe('Redis mode', () => {
    it('is standalone on REDIS_URL by default', () => {
      expect(loadConfig({}).redis).toMatchObject({ mode: 'standalone', url: 'redis://127.0.0.1:6379' });
    });

    it('reads Sentinel: the sentinels, the master name (default mymaster) and both passwords', () => {
      const sut = loadConfig({
        REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b:26380,[::1]:26381',
        REDIS_PASSWORD: 'data',
        REDIS_SENTINEL_PASSWORD: 'watch',
      }).redis;
      expect(sut).toMatchObject({
        mode: 'sentinel',
        sentinelMaster: 'mymaster',
        password: 'data',
        sentinelPassword: 'watch',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: 'sentinel-b', port: 26380 },
          { host: '::1', port: 26381 },
        ],
      });
      expect(
        loadConfig({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'orders' }).redis.sentinelMaster,
      ).toBe('orders');
    });

    it('reads Cluster seed nodes', () => {
      expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' }).redis).toMatchObject({
        mode: 'cluster',
        clusterNodes: [
          { host: '127.0.0.1', port: 7000 },
          { host: '127.0.0.1', port: 7001 },
        ],
      });
    });

    it('refuses two modes at once, counting REDIS_URL only when it is set explicitly', () => {
      expect(() => loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 'a:26379' })).toThrow(
        'REDIS_URL and REDIS_SENTINELS are set together: choose one Redis mode',
      );
      expect(() => loadConfig({ REDIS_SENTINELS: 'a:26379', REDIS_CLUSTER_NODES: 'b:7000' })).toThrow(
        'REDIS_SENTINELS and REDIS_CLUSTER_NODES are set together',
      );
      expect(loadConfig({ REDIS_URL: '', REDIS_CLUSTER_NODES: 'b:7000' }).redis.mode).toBe('cluster');
    });

    it('refuses a malformed node list, naming the variable and the bad entry', () => {
      for (const bad of ['127.0.0.1', 'a:1,,b:2', 'host:0', 'host:70000', 'redis://a:1', 'a:1;b:2']) {
        expect(() => loadConfig({ REDIS_CLUSTER_NODES: bad })).toThrow(
          `REDIS_CLUSTER_NODES="${bad}" must be a comma-separated list of host:port`,
        );
      }
      expect(() => loadConfig({ REDIS_SENTINELS: 'a:26379,b' })).toThrow('(bad entry "b")');
    });

    it('refuses settings of another mode: REDIS_PASSWORD with REDIS_URL, sentinel settings without sentinels', () => {
      expect(() => loadConfig({ REDIS_PASSWORD: 'x' })).toThrow('with REDIS_URL put the password in the URL');
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_SENTINEL_PASSWORD: 'm' })).toThrow(
        'REDIS_SENTINEL_PASSWORD is set but REDIS_SENTINELS is not',
      );
      expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_PASSWORD: 'x' }).redis.password).toBe('x');
    });
  });

  describe('the variable table', () => {
    it('is read whole by loadConfig: a declared variable that nothing reads would be documented for nothing', () => {
      const source = readFileSync(join(__dirname, 'config.ts'), 'utf8');
      const unread = Object.keys(VARIABLES).filter((name) => !new RegExp(`\\bv\\.${name}\\b`).test(source));
      expect(unread).toEqual([]);
    });

    it('starts with its defaults under NODE_ENV=test too', () => {
      expect(() => loadConfig({ NODE_ENV: 'test' })).not.toThrow();
    });
  });

  describe(redactUrl.name, () => {
    it('hides the password of a URL', () => {
      expect(redactUrl('postgres://app:s3cret@db:5432/orders')).toBe('postgres://app:***@db:5432/orders');
      expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    });
  });
});
