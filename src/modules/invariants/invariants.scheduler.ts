import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { PeriodicTask } from '../../platform/scheduling/periodic-task';
import { InvariantsService } from './invariants.service';

/**
 * Worker role: runs the invariant checker every INVARIANT_CHECK_INTERVAL_MS (0 = never), so the
 * violation gauge and the health probe stay current. A run never overlaps the previous one.
 */
@Injectable()
export class InvariantsScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly task: PeriodicTask;

  constructor(
    private readonly invariants: InvariantsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.task = new PeriodicTask({
      name: 'invariant check',
      intervalMs: config.invariants.intervalMs,
      run: () => this.invariants.check(),
      logger: new Logger(InvariantsScheduler.name),
    });
  }

  onApplicationBootstrap(): void {
    if (runsWorkers(this.config) && this.config.invariants.intervalMs > 0) {
      this.task.start();
    }
  }

  get isScheduled(): boolean {
    return this.task.isScheduled;
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }
}
