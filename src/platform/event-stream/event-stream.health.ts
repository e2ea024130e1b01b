import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { HealthCheckRegistry } from '../health/health-check.registry';
import { withTimeout } from '../queue/with-timeout';
import { EVENT_SINKS, EventSink } from './event-sink';
import { EventSinkStore } from './event-sink.store';

/**
 * Each sink's backlog in /health/detailed, never in readiness: a broker being down makes events wait,
 * it does not make this service unready. `degraded` when disconnected or the oldest event waits too long.
 */
@Injectable()
export class EventStreamHealth implements OnModuleInit {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly store: EventSinkStore,
    @Inject(EVENT_SINKS) private readonly sinks: EventSink[],
    private readonly health: HealthIndicatorService,
    private readonly registry: HealthCheckRegistry,
  ) {}

  onModuleInit(): void {
    // Only the worker role publishes: an api process never connects, so it has nothing to report.
    if (!runsWorkers(this.config)) {
      return;
    }
    for (const sink of this.sinks) {
      this.registry.register(`event-sink-${sink.name}`, () => this.backlog(sink));
    }
  }

  async backlog(sink: EventSink): Promise<HealthIndicatorResult> {
    const session = this.health.check(`event-sink-${sink.name}`);
    try {
      const backlog = await withTimeout(this.store.backlog(sink.name), 1500, 'event sink backlog');
      return session.up({
        connected: sink.available,
        pending: backlog.pending,
        oldestPendingAgeSeconds: Math.round(backlog.oldestPendingAgeSeconds * 10) / 10,
        degraded: !sink.available || backlog.oldestPendingAgeSeconds > this.config.outbox.healthMaxAgeSeconds,
      });
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }
}
