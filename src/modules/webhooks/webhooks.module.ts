import { Module, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { RetentionRegistry } from '../../platform/retention/retention.registry';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { WebhookEndpointsRepository } from './webhook-endpoints.repository';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { WebhookHttpClient } from './webhook-http-client';
import { WebhooksController } from './webhooks.controller';
import { WebhookMetrics } from './webhook.metrics';

/** Signed outbound webhooks (Standard Webhooks 1.0), born in the outbox: docs/webhooks.md. */
@Module({
  controllers: [WebhooksController],
  providers: [
    WebhookEndpointsRepository,
    WebhookDeliveriesRepository,
    WebhookEndpointsService,
    WebhookDeliveryService,
    WebhookDeliveryWorker,
    WebhookHttpClient,
    WebhookMetrics,
  ],
})
export class WebhooksModule implements OnModuleInit {
  constructor(
    private readonly retention: RetentionRegistry,
    private readonly deliveries: WebhookDeliveriesRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Finished deliveries go after WEBHOOK_DELIVERY_RETENTION_SECONDS (pending ones never). */
  onModuleInit(): void {
    const { webhookDeliverySeconds } = this.config.retention;
    this.retention.register({
      table: 'webhook_deliveries',
      pruneBatch: (limit) => this.deliveries.pruneFinished(webhookDeliverySeconds, limit),
    });
  }
}
