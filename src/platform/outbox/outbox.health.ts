import { Injectable, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { HealthCheckRegistry } from '../health/health-check.registry';
import { withTimeout } from '../queue/with-timeout';
import { OutboxStore } from './outbox.store';

/** The outbox backlog in /health/detailed: `degraded` when the oldest unpublished event is too old or any is parked. */
@Injectable()
export class OutboxHealth implements OnModuleInit {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly store: OutboxStore,
    private readonly health: HealthIndicatorService,
    private readonly registry: HealthCheckRegistry,
  ) {}

  onModuleInit(): void {
    this.registry.register('outbox', () => this.backlog());
  }

  async backlog(): Promise<HealthIndicatorResult> {
    const session = this.health.check('outbox');
    try {
      const stats = await withTimeout(this.store.stats(), 1500, 'outbox backlog');
      const degraded =
        stats.oldestPendingAgeSeconds > this.config.outbox.healthMaxAgeSeconds || stats.parked > 0;
      return session.up({
        ...stats,
        oldestPendingAgeSeconds: Math.round(stats.oldestPendingAgeSeconds * 10) / 10,
        degraded,
      });
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }
}
