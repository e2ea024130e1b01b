import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Gauge } from 'prom-client';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { HealthCheckRegistry } from '../health/health-check.registry';
import { MetricsService } from '../metrics/metrics.service';
import { PeriodicTask } from '../scheduling/periodic-task';
import { DeadLetterStore } from './dead-letter.store';
import { QueueRegistry } from './queue.registry';
import { withTimeout } from './with-timeout';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;
const PROBE_TIMEOUT_MS = 1500;

/**
 * Queue health and gauges. Readiness only asks whether Redis answers through the producers'
 * connection; the detailed probe per queue reports counts and `degraded: true` above the thresholds.
 * Gauges are sampled on an interval by the worker role, so a scrape never waits on Redis or PostgreSQL.
 */
@Injectable()
export class QueueMonitor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(QueueMonitor.name);
  private readonly jobCounts: Gauge<'queue' | 'state'>;
  private readonly openDeadLetters: Gauge<'queue'>;
  private sampling?: PeriodicTask;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly queues: QueueRegistry,
    private readonly deadLetters: DeadLetterStore,
    private readonly health: HealthIndicatorService,
    private readonly registry: HealthCheckRegistry,
    metrics: MetricsService,
  ) {
    this.jobCounts = new Gauge({
      name: 'aop_queue_jobs',
      help: 'Jobs per queue and state (sampled every QUEUE_METRICS_INTERVAL_MS)',
      labelNames: ['queue', 'state'],
      registers: [metrics.registry],
    });
    this.openDeadLetters = new Gauge({
      name: 'aop_dead_letters',
      help: 'Dead letters waiting for an admin decision, per queue (sampled)',
      labelNames: ['queue'],
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    this.registry.register('queues', () => this.reachable(), { readiness: true });
    for (const queue of this.queues.all()) {
      this.registry.register(`queue:${queue.name}`, () => this.queueDetail(queue.name));
    }
    // Every role samples: the API's /metrics shows queue depth even when workers are scraped separately.
    this.sampling = new PeriodicTask({
      name: 'queue sampling',
      intervalMs: this.config.queue.metricsIntervalMs,
      run: () => this.sample(),
      logger: this.logger,
    });
    this.sampling.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sampling?.stop();
  }

  async reachable(): Promise<HealthIndicatorResult> {
    const session = this.health.check('queues');
    try {
      await withTimeout(this.queues.ping(), PROBE_TIMEOUT_MS, 'Redis (queues)');
      return session.up({ queues: this.queues.all().length });
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }

  async queueDetail(name: string): Promise<HealthIndicatorResult> {
    const session = this.health.check(`queue:${name}`);
    try {
      const counts = await withTimeout(this.queues.get(name).getJobCounts(...STATES), PROBE_TIMEOUT_MS, name);
      const limits = this.config.queue.health;
      const degraded =
        (counts.waiting ?? 0) > limits.waitingThreshold ||
        (counts.failed ?? 0) > limits.failedThreshold ||
        (counts.delayed ?? 0) > limits.delayedThreshold;
      return session.up({ ...counts, degraded });
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }

  /** One sample of every gauge; failures are logged and the previous values kept. */
  async sample(): Promise<void> {
    try {
      for (const queue of this.queues.all()) {
        const counts = await withTimeout(queue.getJobCounts(...STATES), PROBE_TIMEOUT_MS, queue.name);
        for (const state of STATES) {
          this.jobCounts.set({ queue: queue.name, state }, counts[state] ?? 0);
        }
      }
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'could not sample queue counts');
    }
    try {
      const open = await this.deadLetters.countOpenByQueue();
      for (const queue of this.queues.all()) {
        this.openDeadLetters.set({ queue: queue.name }, open.get(queue.name) ?? 0);
      }
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'could not count dead letters');
    }
  }
}
