import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { JobInfo, OutboxBatchJobData, OutboxJobData } from '../../platform/queue/job-data';
import { JobHandler } from '../../platform/queue/job-handler.decorator';
import { JOBS, QUEUES } from '../../platform/queue/queue-names';
import { PeriodicTask } from '../../platform/scheduling/periodic-task';
import { DeliverJobData, WebhookDeliveryService } from './webhook-delivery.service';

/**
 * The webhook queues' handlers, and (worker role) the dispatcher: every WEBHOOK_DISPATCH_INTERVAL_MS it
 * leases the deliveries whose retry is due, those of a lost job included, and samples the backlog. Finished
 * deliveries are pruned by the retention pruner (WebhooksModule registers the rule).
 */
@Injectable()
export class WebhookDeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookDeliveryWorker.name);
  private readonly dispatcher: PeriodicTask;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly service: WebhookDeliveryService,
  ) {
    this.dispatcher = new PeriodicTask({
      name: 'webhook dispatch',
      intervalMs: config.webhooks.dispatchIntervalMs,
      run: async () => {
        await this.service.dispatch();
        await this.service.sampleBacklog();
      },
      logger: this.logger,
    });
  }

  onApplicationBootstrap(): void {
    if (runsWorkers(this.config)) {
      this.dispatcher.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.dispatcher.stop();
  }

  @JobHandler(QUEUES.webhookFanOut, JOBS[QUEUES.webhookFanOut].fanOut)
  async fanOut(data: OutboxJobData): Promise<{ deliveries: number }> {
    return { deliveries: await this.service.fanOut([data]) };
  }

  @JobHandler(QUEUES.webhookFanOut, JOBS[QUEUES.webhookFanOut].fanOutBatch)
  async fanOutBatch(data: OutboxBatchJobData): Promise<{ deliveries: number }> {
    return { deliveries: await this.service.fanOut(data.events) };
  }

  @JobHandler(QUEUES.webhookDelivery, JOBS[QUEUES.webhookDelivery].deliver)
  async deliver(data: DeliverJobData, job?: JobInfo): Promise<{ outcome: string }> {
    return { outcome: await this.service.attempt(data, (progress) => job?.progress(progress)) };
  }
}
