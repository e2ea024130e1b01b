import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { BadRequestError, UnprocessableError } from '../../platform/http/domain-error';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { toCents } from '../../platform/money';
import { PaymentRecord, PaymentRepository } from './payment.repository';
import { PaymentsService } from './payments.service';
import { GatewayWebhookEvent } from './webhook-sender';
import { verifyWebhookSignature } from './webhook-signature';

/** The inbox consumer name under which webhook event ids are recorded in processed_messages. */
export const PAYMENT_WEBHOOK_CONSUMER = 'payment-webhook';

export type WebhookHandling = 'applied' | 'duplicate' | 'ignored';

/** Why a signed settlement was refused: the `reason` label of aop_payment_webhook_rejected_total. */
export type SettlementMismatch = 'amount_mismatch' | 'currency_mismatch' | 'reference_mismatch';

/**
 * A settlement must describe the pending charge it names: same amount, same currency and, once the
 * gateway told us the charge's reference, that reference. A signature only proves who sent it.
 */
export function settlementMismatch(
  charge: Pick<PaymentRecord, 'amount' | 'currency' | 'providerReference'>,
  event: Pick<GatewayWebhookEvent['data'], 'amount' | 'currency' | 'reference'>,
): SettlementMismatch | undefined {
  if (toCents(event.amount) !== toCents(charge.amount)) {
    return 'amount_mismatch';
  }
  if (event.currency.toUpperCase() !== charge.currency.toUpperCase()) {
    return 'currency_mismatch';
  }
  if (charge.providerReference !== null && charge.providerReference !== event.reference) {
    return 'reference_mismatch';
  }
  return undefined;
}

export class SettlementMismatchError extends UnprocessableError {
  constructor(readonly reason: SettlementMismatch) {
    super(
      `The settlement does not match the pending charge it names (${reason.replace('_', ' ')}).`,
      undefined,
      'SETTLEMENT_MISMATCH',
    );
  }
}

/**
 * Receives the gateway's settlement webhooks: verifies the HMAC over the raw bytes, refuses stale
 * timestamps, refuses (422, error log, aop_payment_webhook_rejected_total) a settlement whose amount,
 * currency or reference differ from the pending charge, and applies each event id once
 * (processed_messages) in the same transaction as the payment update and its PaymentProcessed event.
 */
@Injectable()
export class PaymentWebhookService {
  private readonly logger = new Logger(PaymentWebhookService.name);
  private readonly rejected: Counter<'reason'>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly payments: PaymentsService,
    private readonly paymentRecords: PaymentRepository,
    @InjectConfig() private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.rejected = new Counter({
      name: 'aop_payment_webhook_rejected_total',
      help:
        'Payment webhooks refused, by reason: signature_invalid, signature_stale, malformed, ' +
        'amount_mismatch, currency_mismatch, reference_mismatch',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
  }

  async receive(rawBody: Buffer | undefined, signature: string | undefined): Promise<WebhookHandling> {
    const verdict = verifyWebhookSignature(
      this.config.payment.webhookSecret,
      rawBody ?? Buffer.alloc(0),
      signature,
      Math.floor(Date.now() / 1000),
    );
    if (verdict !== 'valid') {
      this.rejected.inc({ reason: verdict === 'stale' ? 'signature_stale' : 'signature_invalid' });
      this.logger.warn({ verdict }, 'payment webhook refused');
      throw new UnauthorizedException(
        verdict === 'stale'
          ? 'The webhook timestamp is outside the tolerance.'
          : 'The webhook signature is invalid.',
      );
    }
    let event: GatewayWebhookEvent;
    try {
      event = parseEvent(rawBody!);
    } catch (error) {
      this.rejected.inc({ reason: 'malformed' });
      throw error;
    }
    return this.dataSource.transaction(async (tx) => {
      const fresh = await tx.query<unknown[]>(
        `INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING message_id`,
        [PAYMENT_WEBHOOK_CONSUMER, event.id],
      );
      if (fresh.length === 0) {
        return 'duplicate';
      }
      const pending = await this.paymentRecords.lockPendingCharge(tx, event.data.idempotencyKey);
      const mismatch = pending && settlementMismatch(pending, event.data);
      if (mismatch) {
        // Signed, yet not about this charge: a leaked secret or a gateway bug. Nothing is applied (rollback).
        this.rejected.inc({ reason: mismatch });
        this.logger.error(
          {
            eventId: event.id,
            paymentId: pending.id,
            orderId: pending.orderId,
            reason: mismatch,
            expected: {
              amount: pending.amount,
              currency: pending.currency,
              reference: pending.providerReference,
            },
            received: {
              amount: event.data.amount,
              currency: event.data.currency,
              reference: event.data.reference,
            },
          },
          'payment webhook refused: the settlement does not match the pending charge',
        );
        throw new SettlementMismatchError(mismatch);
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
    typeof data.amount !== 'string' ||
    !/^\d{1,10}(\.\d{1,2})?$/.test(data.amount) ||
    typeof data.currency !== 'string' ||
    !/^[A-Za-z]{3}$/.test(data.currency) ||
    (data.status !== 'SUCCEEDED' && data.status !== 'FAILED')
  ) {
    throw new BadRequestError('The webhook body is not a settlement event.');
  }
  return event as GatewayWebhookEvent;
}
