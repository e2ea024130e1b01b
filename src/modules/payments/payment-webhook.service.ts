import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { BadRequestError } from '../../platform/http/domain-error';
import { PaymentsService } from './payments.service';
import { GatewayWebhookEvent } from './webhook-sender';
import { verifyWebhookSignature } from './webhook-signature';

/** The inbox consumer name under which webhook event ids are recorded in processed_messages. */
export const PAYMENT_WEBHOOK_CONSUMER = 'payment-webhook';

export type WebhookHandling = 'applied' | 'duplicate' | 'ignored';

/**
 * Receives the gateway's settlement webhooks: verifies the HMAC over the raw bytes, refuses stale
 * timestamps, and applies each event id once (processed_messages) in the same transaction as the
 * payment update and its PaymentProcessed outbox event.
 */
@Injectable()
export class PaymentWebhookService {
  private readonly logger = new Logger(PaymentWebhookService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly payments: PaymentsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async receive(rawBody: Buffer | undefined, signature: string | undefined): Promise<WebhookHandling> {
    const verdict = verifyWebhookSignature(
      this.config.payment.webhookSecret,
      rawBody ?? Buffer.alloc(0),
      signature,
      Math.floor(Date.now() / 1000),
    );
    if (verdict !== 'valid') {
      this.logger.warn({ verdict }, 'payment webhook refused');
      throw new UnauthorizedException(
        verdict === 'stale'
          ? 'The webhook timestamp is outside the tolerance.'
          : 'The webhook signature is invalid.',
      );
    }
    const event = parseEvent(rawBody!);
    return this.dataSource.transaction(async (tx) => {
      const fresh = await tx.query<unknown[]>(
        `INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING message_id`,
        [PAYMENT_WEBHOOK_CONSUMER, event.id],
      );
      if (fresh.length === 0) {
        return 'duplicate';
      }
      const payment = await this.payments.settleCharge(tx, {
        idempotencyKey: event.data.idempotencyKey,
        providerReference: event.data.reference,
        status: event.data.status,
        failureCode: event.data.failureCode,
        failureMessage: event.data.failureMessage,
      });
      if (!payment) {
        this.logger.warn(
          { eventId: event.id, reference: event.data.reference },
          'webhook for no pending charge',
        );
        return 'ignored';
      }
      this.logger.log(
        { eventId: event.id, paymentId: payment.id, status: payment.status },
        'payment settled',
      );
      return 'applied';
    });
  }
}

function parseEvent(rawBody: Buffer): GatewayWebhookEvent {
  let event: Partial<GatewayWebhookEvent>;
  try {
    event = JSON.parse(rawBody.toString('utf8')) as Partial<GatewayWebhookEvent>;
  } catch {
    throw new BadRequestError('The webhook body is not JSON.');
  }
  const data = event.data;
  if (
    typeof event.id !== 'string' ||
    !data ||
    typeof data.idempotencyKey !== 'string' ||
    typeof data.reference !== 'string' ||
    (data.status !== 'SUCCEEDED' && data.status !== 'FAILED')
  ) {
    throw new BadRequestError('The webhook body is not a settlement event.');
  }
  return event as GatewayWebhookEvent;
}
