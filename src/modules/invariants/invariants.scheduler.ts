import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { InvariantsService } from './invariants.service';

/**
 * Worker role: runs the invariant checker every INVARIANT_CHECK_INTERVAL_MS (0 = never), so the
 * violation gauge and the health probe stay current. A run never overlaps the previous one.
 */
@Injectable()
export class InvariantsScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(InvariantsScheduler.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly invariants: InvariantsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (runsWorkers(this.config) && this.config.invariants.intervalMs > 0) {
      this.schedule();
    }
  }

  get isScheduled(): boolean {
    return this.timer !== undefined;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.running = this.invariants.check().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'invariant check failed; retrying next tick');
      });
      void this.running.finally(() => this.schedule());
    }, this.config.invariants.intervalMs);
  }
}
