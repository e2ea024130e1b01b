import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { JobHandlerRegistry } from './job-handler.registry';
import { WorkerHost } from './worker.host';

/** Starts the workers in the worker role, once every provider exists; closes them first on shutdown. */
@Injectable()
export class WorkerBootstrap implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly registry: JobHandlerRegistry,
    private readonly host: WorkerHost,
  ) {}

  onApplicationBootstrap(): void {
    if (runsWorkers(this.config)) {
      this.host.start(this.registry.collect());
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.host.close();
  }
}
