import { Module } from '@nestjs/common';
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
export class WebhooksModule {}
