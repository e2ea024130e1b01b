import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { JobProgress } from '../../platform/queue/job-progress';
import { OutboxJobData } from '../../platform/queue/job-data';
import { JOBS, QUEUES } from '../../platform/queue/queue-names';
import { QueueRegistry } from '../../platform/queue/queue.registry';
import { AttemptResult, WebhookHttpClient } from './webhook-http-client';
import {
  AttemptRecord,
  LeasedDelivery,
  NewDeliveryEvent,
  WebhookDeliveriesRepository,
} from './webhook-deliveries.repository';
import { WebhookEndpointsRepository } from './webhook-endpoints.repository';
import { announcedEventOf, messageIdOf, orderEventBody } from './webhook-events';
import { nextRetryDelayMs } from './webhook-retry-schedule';
import { WebhookSecretBox } from './webhook-secret-box';
import { signatureHeader } from './webhook-signature';
import { WebhookMetrics } from './webhook.metrics';

export interface DeliverJobData {
  deliveryId: string;
  leaseToken: string;
}

/** Deliveries leased per claim; the dispatcher claims again while a claim comes back full. */
const CLAIM_LIMIT = 200;

/**
 * Fan-out (an outbox event becomes one delivery row per subscribed endpoint), dispatch (due deliveries
 * are leased, at most WEBHOOK_ENDPOINT_CONCURRENCY per endpoint, and enqueued as one attempt each) and
 * the attempt itself (sign, POST, record, schedule the retry or finish).
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);
  private readonly secrets: WebhookSecretBox;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly http: WebhookHttpClient,
    private readonly queues: QueueRegistry,
    private readonly metrics: WebhookMetrics,
  ) {
    this.secrets = new WebhookSecretBox(config.webhooks.secretsKey);
  }

  get maxAttempts(): number {
    return this.config.webhooks.retryScheduleMs.length + 1;
  }

  /** Idempotent: a re-delivered job inserts nothing new and only re-dispatches what is still due. */
  async fanOut(events: OutboxJobData[]): Promise<number> {
    const candidates = events.flatMap((e) => announcedEventOf(e) ?? []);
    // Most events interest nobody: no order read, no insert, no dispatch for them.
    const subscribed = candidates.length > 0 ? await this.deliveries.subscribedTypes() : new Set<string>();
    const announced = candidates.filter((e) => subscribed.has(e.type));
    if (announced.length === 0) {
      return 0;
    }
    const orders = await this.deliveries.orderSnapshots([...new Set(announced.map((e) => e.orderId))]);
    const rows: NewDeliveryEvent[] = announced.flatMap((event) => {
      const order = orders.get(event.orderId);
      if (!order) {
        this.logger.warn(
          { orderId: event.orderId, eventId: event.eventId },
          'webhook event of a missing order',
        );
        return [];
      }
      return [
        {
          eventId: event.eventId,
          eventType: event.type,
          messageId: messageIdOf(event.eventId),
          body: orderEventBody(event, order),
        },
      ];
    });
    const created = await this.deliveries.fanOut(rows, this.maxAttempts);
    if (created > 0) {
      // First attempts start now; anything a crash left behind is the periodic dispatcher's.
      await this.dispatch(rows.map((r) => r.eventId));
    }
    return created;
  }

  /** Leases due deliveries (of the given events only, when given) and enqueues one attempt job each. */
  async dispatch(eventIds?: string[]): Promise<number> {
    let total = 0;
    for (;;) {
      const claimed = await this.deliveries.claimDue({
        perEndpoint: this.config.webhooks.endpointConcurrency,
        limit: CLAIM_LIMIT,
        // Long enough to wait in the queue and make the attempt; a lost job's lease runs out after it.
        leaseSeconds: this.config.webhooks.leaseMs / 1000,
        eventIds,
      });
      if (claimed.length > 0) {
        const job = JOBS[QUEUES.webhookDelivery].deliver;
        await this.queues.get(QUEUES.webhookDelivery).addBulk(
          claimed.map((c) => ({
            name: job,
            data: { deliveryId: c.id, leaseToken: c.leaseToken } satisfies DeliverJobData,
            opts: { jobId: `${c.id}-${c.leaseToken}` },
          })),
        );
      }
      total += claimed.length;
      if (claimed.length < CLAIM_LIMIT) {
        return total;
      }
    }
  }

  /** One attempt of a leased delivery. Never throws for the receiver's failures: they are recorded. */
  /**
   * One attempt of one delivery. `report` (the job's progress, docs/messaging.md) hears the attempt's
   * number before the call and, after it, the outcome and when the next attempt is due.
   */
  async attempt(
    { deliveryId, leaseToken }: DeliverJobData,
    report: (progress: JobProgress) => void = () => undefined,
  ): Promise<string> {
    const delivery = await this.deliveries.findLeased(deliveryId, leaseToken);
    if (!delivery) {
      return 'lease no longer held';
    }
    if (delivery.endpointStatus !== 'enabled') {
      await this.deliveries.releaseLease(deliveryId, leaseToken);
      return 'endpoint disabled';
    }
    const attempt = { deliveryAttempt: delivery.attempts + 1, maxAttempts: delivery.maxAttempts };
    report({ stage: 'sending', ...attempt });
    const result = await this.send(delivery);
    this.metrics.attempt(result.outcome, result.latencyMs);
    const record = this.recordOf(delivery, result);
    report({
      stage: 'answered',
      ...attempt,
      outcome: record.status,
      statusCode: result.statusCode,
      nextAttemptAt: record.nextAttemptAt?.toISOString() ?? null,
    });
    const { recorded, disabledNow } = await this.dataSource.transaction(async (tx) => {
      const written = await this.deliveries.recordAttempt(tx, deliveryId, leaseToken, record);
      if (!written) {
        return { recorded: false, disabledNow: undefined };
      }
      if (result.outcome === 'success') {
        await this.endpoints.recordSuccess(tx, delivery.endpointId);
        return { recorded: true, disabledNow: undefined };
      }
      if (result.outcome === 'gone') {
        const disabled = await this.endpoints.disable(
          tx,
          delivery.endpointId,
          'the receiver answered 410 Gone',
        );
        return { recorded: true, disabledNow: disabled ? ('gone' as const) : undefined };
      }
      const disabled = await this.endpoints.recordFailure(
        tx,
        delivery.endpointId,
        this.config.webhooks.disableAfterSeconds,
      );
      return { recorded: true, disabledNow: disabled ? ('failing' as const) : undefined };
    });
    if (!recorded) {
      return 'lease lost before the outcome was recorded';
    }
    if (record.status !== 'pending') {
      this.metrics.deliveries.inc({ outcome: record.status });
    }
    if (disabledNow) {
      this.metrics.endpointsDisabled.inc({ reason: disabledNow });
      // The operator's notification: an error log line (alerted on through the metric above).
      this.logger.error(
        { endpointId: delivery.endpointId, url: delivery.url, reason: disabledNow, lastError: record.error },
        `webhook endpoint ${delivery.endpointId} disabled (${disabledNow === 'gone' ? 'receiver answered 410 Gone' : 'failing continuously'})`,
      );
    }
    return record.status;
  }

  private async send(delivery: LeasedDelivery): Promise<AttemptResult> {
    let secrets: string[];
    try {
      secrets = [this.secrets.open(delivery.sealedSecret)];
    } catch {
      // Nothing is sent unsigned: the attempt fails and follows the schedule (an operator rotates the secret).
      return {
        outcome: 'unsigned',
        statusCode: null,
        responseBody: null,
        error: 'the signing secret cannot be decrypted (was WEBHOOK_SECRETS_KEY changed?); rotate it',
        latencyMs: 0,
      };
    }
    if (delivery.sealedPreviousSecret) {
      try {
        secrets.push(this.secrets.open(delivery.sealedPreviousSecret));
      } catch {
        // A rotation away from an unreadable secret: sign with the new one only.
      }
    }
    const timestamp = Math.floor(Date.now() / 1000);
    return this.http.post({
      url: delivery.url,
      body: delivery.body,
      headers: {
        'webhook-id': delivery.messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(secrets, delivery.messageId, timestamp, delivery.body),
      },
      timeoutMs: this.config.webhooks.timeoutMs,
      allowPrivateTargets: this.config.webhooks.allowPrivateTargets,
    });
  }

  private recordOf(delivery: LeasedDelivery, result: AttemptResult): AttemptRecord {
    const base = {
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      responseBody: result.responseBody,
      error: result.error,
    };
    if (result.outcome === 'success') {
      return { ...base, status: 'succeeded', nextAttemptAt: null };
    }
    if (result.outcome === 'gone') {
      return { ...base, status: 'failed', nextAttemptAt: null };
    }
    const made = delivery.attempts + 1;
    const delay =
      made < delivery.maxAttempts ? nextRetryDelayMs(this.config.webhooks.retryScheduleMs, made) : undefined;
    return delay === undefined
      ? { ...base, status: 'failed', nextAttemptAt: null }
      : { ...base, status: 'pending', nextAttemptAt: new Date(Date.now() + delay) };
  }

  async sampleBacklog(): Promise<void> {
    const { due, oldestDueSeconds } = await this.deliveries.backlog();
    this.metrics.backlog.set(due);
    this.metrics.oldestDueAge.set(oldestDueSeconds);
  }
}
