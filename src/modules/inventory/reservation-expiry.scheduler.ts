import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { InventoryService } from './inventory.service';

/** Batches per tick at most, so one tick never monopolises a connection after a long outage. */
const MAX_BATCHES_PER_TICK = 20;

/**
 * Worker role: every RESERVATION_EXPIRY_INTERVAL_MS, gives back the stock of reservations whose TTL
 * has passed. Several workers can run it at once (SKIP LOCKED); a tick never overlaps the previous.
 */
@Injectable()
export class ReservationExpiryScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReservationExpiryScheduler.name);
  private readonly expired: Counter;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(
    private readonly inventory: InventoryService,
    @InjectConfig() private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    const name = 'aop_reservations_expired_total';
    this.expired =
      (metrics.registry.getSingleMetric(name) as Counter | undefined) ??
      new Counter({
        name,
        help: 'Reservations released because their TTL passed.',
        registers: [metrics.registry],
      });
  }

  onApplicationBootstrap(): void {
    if (runsWorkers(this.config)) {
      this.schedule();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass: expires batches until none is full. Returns how many reservations it expired. */
  async expireNow(): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_TICK && !this.stopped; batch++) {
      const expired = await this.inventory.expireDue(this.config.inventory.expiryBatchSize);
      total += expired.length;
      this.expired.inc(expired.length);
      if (expired.length < this.config.inventory.expiryBatchSize) {
        break;
      }
    }
    if (total > 0) {
      this.logger.log({ expired: total }, 'released expired reservations');
    }
    return total;
  }

  private schedule(): void {
    if (this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.running = this.expireNow().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'reservation expiry pass failed; retrying next tick');
        return 0;
      });
      void this.running.finally(() => this.schedule());
    }, this.config.inventory.expiryIntervalMs);
  }
}
