import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { JobHandler } from '../../platform/queue/job-handler.decorator';
import { JOBS, QUEUES } from '../../platform/queue/queue-names';
import { QueueRegistry } from '../../platform/queue/queue.registry';
import { PeriodicTask } from '../../platform/scheduling/periodic-task';
import { ReservationsService } from './reservations.service';

const EXPIRE = JOBS[QUEUES.inventoryManagement].expireReservations;

/** Batches per tick at most, so one tick never monopolises a connection after a long outage. */
const MAX_BATCHES_PER_TICK = 20;

/**
 * Worker role: every RESERVATION_EXPIRY_INTERVAL_MS, gives back the stock of reservations whose TTL
 * has passed. The tick is a BullMQ job scheduler on the inventory-management queue, so however many
 * workers run, one of them takes each tick; the pass itself is safe to overlap anyway (SKIP LOCKED).
 */
@Injectable()
export class ReservationExpiryScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReservationExpiryScheduler.name);
  private readonly expired: Counter;
  /** Registers the repeating tick; while Redis is unreachable it tries again. */
  private readonly registration: PeriodicTask;

  constructor(
    private readonly reservations: ReservationsService,
    private readonly queues: QueueRegistry,
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
    this.registration = new PeriodicTask({
      name: 'scheduling reservation expiry',
      intervalMs: config.inventory.expiryIntervalMs,
      firstDelayMs: 0,
      retryDelayMs: 5_000,
      untilSuccess: true,
      run: () =>
        this.queues
          .get(QUEUES.inventoryManagement)
          .upsertJobScheduler(
            EXPIRE,
            { every: config.inventory.expiryIntervalMs },
            { name: EXPIRE, data: {} },
          ),
      logger: this.logger,
    });
  }

  onApplicationBootstrap(): void {
    if (runsWorkers(this.config)) {
      this.registration.start();
    }
  }

  @JobHandler(QUEUES.inventoryManagement, EXPIRE)
  async onTick(): Promise<{ expired: number }> {
    return { expired: await this.expireNow() };
  }

  async onModuleDestroy(): Promise<void> {
    await this.registration.stop();
  }

  /** One pass: expires batches until none is full. Returns how many reservations it expired. */
  async expireNow(): Promise<number> {
    let total = 0;
    // Shutdown ends a long pass between batches.
    for (let batch = 0; batch < MAX_BATCHES_PER_TICK && !this.registration.isStopping; batch++) {
      const expired = await this.reservations.expireDue(this.config.inventory.expiryBatchSize);
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
}
