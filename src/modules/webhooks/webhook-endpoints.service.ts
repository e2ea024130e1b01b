import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { BadRequestError, ConflictError, NotFoundError } from '../../platform/http/domain-error';
import { Page, pageOf } from '../../platform/http/pagination';
import { WebhookDeliveriesRepository, WebhookDelivery } from './webhook-deliveries.repository';
import { EndpointPatch, WebhookEndpoint, WebhookEndpointsRepository } from './webhook-endpoints.repository';
import { messageIdOf, TEST_EVENT_TYPE, testEventBody } from './webhook-events';
import { WebhookSecretBox } from './webhook-secret-box';
import { newWebhookSecret } from './webhook-signature';
import { targetProblem, urlShapeProblem } from './webhook-url-policy';

/** The admin API's use cases. Sending is the worker's: this side only makes deliveries due. */
@Injectable()
export class WebhookEndpointsService {
  private readonly secrets: WebhookSecretBox;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
  ) {
    this.secrets = new WebhookSecretBox(config.webhooks.secretsKey);
  }

  async create(input: {
    url: string;
    events: string[];
    description?: string;
  }): Promise<WebhookEndpoint & { secret: string }> {
    await this.assertAcceptableUrl(input.url);
    const secret = newWebhookSecret();
    const endpoint = await this.endpoints.insert(
      { url: input.url, events: [...new Set(input.events)], description: input.description ?? null },
      this.secrets.seal(secret),
    );
    return { ...endpoint, secret };
  }

  async list(page: number, limit: number): Promise<Page<WebhookEndpoint>> {
    const { rows, total } = await this.endpoints.list(page, limit);
    return pageOf(rows, page, limit, total);
  }

  async get(id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.endpoints.find(id);
    if (!endpoint) {
      throw new NotFoundError(`Webhook endpoint ${id} does not exist.`);
    }
    return endpoint;
  }

  async update(id: string, patch: EndpointPatch): Promise<WebhookEndpoint> {
    if (patch.url !== undefined) {
      await this.assertAcceptableUrl(patch.url);
    }
    const endpoint = await this.endpoints.update(id, {
      ...patch,
      events: patch.events ? [...new Set(patch.events)] : undefined,
    });
    if (!endpoint) {
      throw new NotFoundError(`Webhook endpoint ${id} does not exist.`);
    }
    return endpoint;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.endpoints.delete(id))) {
      throw new NotFoundError(`Webhook endpoint ${id} does not exist.`);
    }
  }

  async rotateSecret(id: string): Promise<WebhookEndpoint & { secret: string }> {
    const secret = newWebhookSecret();
    const endpoint = await this.endpoints.rotateSecret(
      id,
      this.secrets.seal(secret),
      this.config.webhooks.secretGraceSeconds,
    );
    if (!endpoint) {
      throw new NotFoundError(`Webhook endpoint ${id} does not exist.`);
    }
    return { ...endpoint, secret };
  }

  /** A `webhook.test` delivery to this endpoint, due now (the worker's dispatcher sends it). */
  async sendTest(id: string): Promise<WebhookDelivery> {
    const endpoint = await this.get(id);
    this.assertEnabled(endpoint);
    const eventId = randomUUID();
    return this.deliveries.insertOne(
      id,
      {
        eventId,
        eventType: TEST_EVENT_TYPE,
        messageId: messageIdOf(eventId),
        body: testEventBody(id, new Date()),
      },
      this.config.webhooks.retryScheduleMs.length + 1,
    );
  }

  async listDeliveries(
    endpointId: string,
    filter: { status?: string; eventType?: string; page: number; limit: number },
  ): Promise<Page<WebhookDelivery>> {
    await this.get(endpointId);
    const { rows, total } = await this.deliveries.list(endpointId, filter);
    return pageOf(rows, filter.page, filter.limit, total);
  }

  /** Delivers again now: same webhook-id and body, whatever the outcome so far. */
  async retry(deliveryId: string): Promise<WebhookDelivery> {
    const existing = await this.deliveries.find(deliveryId);
    if (!existing) {
      throw new NotFoundError(`Webhook delivery ${deliveryId} does not exist.`);
    }
    this.assertEnabled(await this.get(existing.endpointId));
    const { delivery } = await this.deliveries.retryNow(deliveryId);
    if (!delivery) {
      throw new ConflictError(
        `An attempt of delivery ${deliveryId} is in flight; retry when it ends.`,
        'DELIVERY_IN_FLIGHT',
      );
    }
    return delivery;
  }

  private assertEnabled(endpoint: WebhookEndpoint): void {
    if (endpoint.status !== 'enabled') {
      throw new ConflictError(
        `Webhook endpoint ${endpoint.id} is disabled; enable it first.`,
        'ENDPOINT_DISABLED',
      );
    }
  }

  private async assertAcceptableUrl(raw: string): Promise<void> {
    const policy = this.config.webhooks;
    const problem = urlShapeProblem(raw, policy) ?? (await targetProblem(new URL(raw), policy));
    if (problem) {
      throw new BadRequestError(`url ${problem}.`, [{ field: 'url', message: `url ${problem}` }]);
    }
  }
}
