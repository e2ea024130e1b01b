import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Gauge } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../../config/config';
import { retryHorizonSeconds } from '../webhooks/webhook-retry-schedule';
import { InjectConfig } from '../../config/config.module';
import { HealthCheckRegistry } from '../../platform/health/health-check.registry';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { withTimeout } from '../../platform/queue/with-timeout';
import { RedisService } from '../../platform/redis/redis.service';
import { InvariantChecker, InvariantReport } from './invariant-checker';
import { INVARIANT_CHECKS } from './invariant-checks';

/** What /health/detailed shows of the last run, shared through Redis so every process shows the latest. */
export interface InvariantSummary {
  checkedAt: string;
  ok: boolean;
  violations: number;
  attention: number;
  /** Checks with a non-zero count, by name. */
  failing: Record<string, number>;
}

const SUMMARY_TTL_SECONDS = 7 * 86_400;

/**
 * The invariant checker as a feature: each run updates `aop_invariant_violations{invariant}` and
 * `aop_invariant_attention{invariant}`, and leaves its summary for the `invariants` health probe.
 */
@Injectable()
export class InvariantsService implements OnModuleInit {
  private readonly logger = new Logger(InvariantsService.name);
  private readonly checker: InvariantChecker;
  private readonly violationsGauge: Gauge<'invariant'>;
  private readonly attentionGauge: Gauge<'invariant'>;
  private last: InvariantSummary | undefined;

  constructor(
    dataSource: DataSource,
    @InjectConfig() config: AppConfig,
    metrics: MetricsService,
    private readonly redis: RedisService,
    private readonly health: HealthIndicatorService,
    private readonly registry: HealthCheckRegistry,
  ) {
    this.checker = new InvariantChecker(dataSource, {
      recoveryWindowSeconds: config.invariants.recoveryWindowSeconds,
      outboxLagSeconds: config.invariants.outboxLagSeconds,
      deadLetterAgeSeconds: config.invariants.deadLetterAgeSeconds,
      outboxRetentionHours: config.outbox.retentionHours,
      sampleRows: config.invariants.sampleRows,
      webhookHorizonSeconds: retryHorizonSeconds(config.webhooks.retryScheduleMs, config.webhooks.timeoutMs),
    });
    this.violationsGauge = new Gauge({
      name: 'aop_invariant_violations',
      help: 'Rows breaking each invariant at the last run of the invariant checker (0 = the promise holds).',
      labelNames: ['invariant'] as const,
      registers: [metrics.registry],
    });
    this.attentionGauge = new Gauge({
      name: 'aop_invariant_attention',
      help: 'Rows waiting for an operator at the last run of the invariant checker (NEEDS_ATTENTION sagas, parked events).',
      labelNames: ['invariant'] as const,
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    this.registry.register('invariants', () => this.probe());
  }

  async check(manager?: EntityManager): Promise<InvariantReport> {
    const report = await this.checker.run(manager);
    for (const result of report.checks) {
      const gauge = result.severity === 'violation' ? this.violationsGauge : this.attentionGauge;
      gauge.set({ invariant: result.name }, result.count);
    }
    if (!manager) {
      await this.remember(report);
    }
    if (!report.ok) {
      this.logger.warn(
        { violations: report.violations, failing: summarize(report).failing },
        'invariant violations found',
      );
    }
    return report;
  }

  /** The latest summary any process stored (Redis), else this process's own. */
  async lastSummary(): Promise<InvariantSummary | undefined> {
    try {
      const stored = await withTimeout(this.redis.client.get(this.redis.key('invariants', 'last')), 1000);
      if (stored) {
        return JSON.parse(stored) as InvariantSummary;
      }
    } catch {
      // Redis down: this process's own last run is the best we know.
    }
    return this.last;
  }

  private async remember(report: InvariantReport): Promise<void> {
    this.last = summarize(report);
    try {
      await withTimeout(
        this.redis.client.set(
          this.redis.key('invariants', 'last'),
          JSON.stringify(this.last),
          'EX',
          SUMMARY_TTL_SECONDS,
        ),
        1000,
      );
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'could not share the invariant summary');
    }
  }

  /** Up even with violations (the process itself is fine) but `degraded`, with the failing checks. */
  private async probe(): Promise<HealthIndicatorResult> {
    const session = this.health.check('invariants');
    const last = await this.lastSummary();
    if (!last) {
      return session.up({ lastRun: null, checks: INVARIANT_CHECKS.length });
    }
    return session.up({ ...last, degraded: !last.ok });
  }
}

function summarize(report: InvariantReport): InvariantSummary {
  return {
    checkedAt: report.checkedAt,
    ok: report.ok,
    violations: report.violations,
    attention: report.attention,
    failing: Object.fromEntries(report.checks.filter((c) => c.count > 0).map((c) => [c.name, c.count])),
  };
}
