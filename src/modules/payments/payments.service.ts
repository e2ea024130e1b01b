import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { UnprocessableError } from '../../platform/http/domain-error';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { fromCents, toCents } from '../../platform/money';
import { OutboxWriter } from '../../platform/outbox/outbox.writer';
import { inSpan, SPAN_ATTRIBUTES } from '../../platform/tracing/trace-context';
import { SpanKind } from '@opentelemetry/api';
import {
  isTransientPaymentError,
  NothingToRefundError,
  PermanentPaymentError,
  RefundExceedsCapturedError,
  PaymentInProgressError,
} from './payment.errors';
import { GatewayOutcome, PaymentRecord, PaymentRepository } from './payment.repository';
import { PAYMENT_PROVIDER, PaymentMethod, PaymentProvider } from './payment-provider';

/** What charging needs to know about an order. */
export interface ChargeableOrder {
  id: string;
  totalAmount: string;
  currency: string;
  paymentMethod: PaymentMethod;
  paymentToken?: string | null;
}

export interface RefundRequestOptions {
  /** Omitted: everything still refundable. */
  amount?: string;
  /** Callers that may retry (a saga step, a job) must pass a stable key, e.g. `refund:${orderId}:saga`. */
  idempotencyKey?: string;
}

export interface RefundOutcome {
  refund: PaymentRecord;
  capturedAmount: string;
  refundedAmount: string;
  fullyRefunded: boolean;
}

export interface SettlementEvent {
  idempotencyKey: string;
  providerReference: string;
  status: 'SUCCEEDED' | 'FAILED';
  failureCode?: string;
  failureMessage?: string;
}

/**
 * Charges and refunds orders through the PaymentProvider, recording every attempt in `payments`.
 * Idempotent per order: the charge's key is `charge:${orderId}` both in our table (unique index) and
 * at the gateway, so a retry after a timeout or a crash finds the original charge instead of making
 * a second one. Declines come back as FAILED records; gateway trouble is thrown as a
 * TransientPaymentError for the caller's retry policy.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);
  private readonly outcomes: Counter<'outcome' | 'reason'>;
  /** An attempt whose owner stays silent this long is presumed crashed and may be retried. */
  private readonly claimLeaseMs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly payments: PaymentRepository,
    private readonly outbox: OutboxWriter,
    @Inject(PAYMENT_PROVIDER) private readonly provider: PaymentProvider,
    @InjectConfig() config: AppConfig,
    metrics: MetricsService,
  ) {
    this.claimLeaseMs = config.payment.breaker.timeoutMs * 2;
    this.outcomes = new Counter({
      name: 'aop_payments_total',
      help: 'Payment attempts by outcome (succeeded, pending, declined, transient, refunded, refund_failed) and reason',
      labelNames: ['outcome', 'reason'],
      registers: [metrics.registry],
    });
  }

  async chargeOrder(order: ChargeableOrder): Promise<PaymentRecord> {
    const idempotencyKey = `charge:${order.id}`;
    const inserted = await this.payments.insertIfAbsent(this.dataSource, {
      orderId: order.id,
      kind: 'CHARGE',
      amount: order.totalAmount,
      currency: order.currency,
      method: order.paymentMethod,
      provider: this.provider.name,
      idempotencyKey,
    });
    const attempt = inserted ?? (await this.claimExisting(order.id, idempotencyKey));
    if (attempt.status !== 'PENDING' || attempt.providerReference !== null) {
      return attempt;
    }

    let outcome: GatewayOutcome;
    try {
      const result = await inSpan(
        'payment gateway charge',
        {
          kind: SpanKind.CLIENT,
          attributes: { [SPAN_ATTRIBUTES.orderId]: order.id, 'payment.provider': this.provider.name },
        },
        () =>
          this.provider.charge({
            idempotencyKey,
            amount: order.totalAmount,
            currency: order.currency,
            method: order.paymentMethod,
            token: order.paymentToken ?? undefined,
            metadata: { orderId: order.id },
          }),
      );
      outcome = {
        status: result.status,
        providerReference: result.reference,
        failureCode: result.failureCode,
        failureMessage: result.failureMessage,
      };
    } catch (error) {
      outcome = await this.handleGatewayError(attempt, error);
    }
    this.count(outcome);
    const recorded = await this.payments.recordOutcome(this.dataSource, attempt.id, outcome);
    // Nothing recorded: a webhook settled the row meanwhile, and its answer wins.
    return recorded ?? (await this.payments.findByKey(this.dataSource, idempotencyKey))!;
  }

  /**
   * Refunds part or all of an order's settled charge, never more than captured minus what was already
   * refunded (refunds in flight included; the charge row lock serialises concurrent requests).
   */
  async refundOrder(orderId: string, options: RefundRequestOptions = {}): Promise<RefundOutcome> {
    const { charge, refund } = await this.dataSource.transaction(async (tx) => {
      const charge = await this.payments.lockSettledCharge(tx, orderId);
      if (!charge) {
        throw new NothingToRefundError(orderId);
      }
      if (options.idempotencyKey) {
        const existing = await this.payments.findByKey(tx, options.idempotencyKey);
        if (existing) {
          return { charge, refund: existing };
        }
      }
      const { reservedCents, count } = await this.payments.refundTotals(tx, orderId);
      const refundableCents = toCents(charge.amount) - reservedCents;
      const requestedCents = options.amount === undefined ? refundableCents : toCents(options.amount);
      if (refundableCents <= 0 && options.amount === undefined) {
        throw new NothingToRefundError(orderId);
      }
      if (requestedCents <= 0) {
        throw new UnprocessableError(
          'A refund must be a positive amount.',
          undefined,
          'INVALID_REFUND_AMOUNT',
        );
      }
      if (requestedCents > refundableCents) {
        throw new RefundExceedsCapturedError(fromCents(requestedCents), fromCents(refundableCents));
      }
      const refund = await this.payments.insertIfAbsent(tx, {
        orderId,
        kind: 'REFUND',
        amount: fromCents(requestedCents),
        currency: charge.currency,
        method: charge.method,
        provider: this.provider.name,
        idempotencyKey: options.idempotencyKey ?? `refund:${orderId}:${count + 1}`,
      });
      return { charge, refund: refund! };
    });

    const settled = refund.status === 'PENDING' ? await this.executeRefund(charge, refund) : refund;
    const { reservedCents } = await this.dataSource.transaction((tx) =>
      this.payments.refundTotals(tx, orderId),
    );
    return {
      refund: settled,
      capturedAmount: charge.amount,
      refundedAmount: fromCents(reservedCents),
      fullyRefunded: reservedCents >= toCents(charge.amount),
    };
  }

  getPaymentsForOrder(orderId: string): Promise<PaymentRecord[]> {
    return this.payments.findByOrder(this.dataSource, orderId);
  }

  /**
   * Applies an asynchronous settlement (webhook or reconciliation) in the caller's transaction and
   * announces it with PaymentProcessed, which resumes the saga. Undefined when nothing was pending.
   */
  async settleCharge(tx: EntityManager, event: SettlementEvent): Promise<PaymentRecord | undefined> {
    const payment = await this.payments.settlePendingCharge(tx, event.idempotencyKey, event);
    if (!payment) {
      return undefined;
    }
    await this.outbox.append(tx, {
      type: 'PaymentProcessed',
      aggregateType: 'order',
      aggregateId: payment.orderId,
      payload: {
        orderId: payment.orderId,
        paymentId: payment.id,
        status: event.status,
        ...(event.failureCode ? { failureCode: event.failureCode } : {}),
      },
    });
    this.count(event);
    return payment;
  }

  /**
   * Asks the gateway about a charge still PENDING (a webhook may have been lost) and settles it when
   * the gateway knows the outcome. A recovery job can call it for stale pending payments.
   */
  async reconcileCharge(orderId: string): Promise<PaymentRecord | undefined> {
    const charge = await this.payments.findByKey(this.dataSource, `charge:${orderId}`);
    if (!charge || charge.status !== 'PENDING' || charge.providerReference === null) {
      return charge;
    }
    const remote = await this.provider.getPayment(charge.providerReference);
    if (!remote || remote.status === 'PENDING') {
      return charge;
    }
    const status = remote.status;
    const reference = charge.providerReference;
    return this.dataSource.transaction(
      async (tx) =>
        (await this.settleCharge(tx, {
          idempotencyKey: charge.idempotencyKey,
          providerReference: reference,
          status,
          failureCode: remote.failureCode,
        })) ?? (await this.payments.findByKey(tx, charge.idempotencyKey))!,
    );
  }

  private async claimExisting(orderId: string, idempotencyKey: string): Promise<PaymentRecord> {
    const existing = (await this.payments.findByKey(this.dataSource, idempotencyKey))!;
    if (existing.status !== 'PENDING' || existing.providerReference !== null) {
      return existing;
    }
    const claimed = await this.payments.claimRetry(this.dataSource, existing.id, this.claimLeaseMs);
    if (claimed) {
      return claimed;
    }
    const now = (await this.payments.findByKey(this.dataSource, idempotencyKey))!;
    if (now.status !== 'PENDING' || now.providerReference !== null) {
      return now;
    }
    throw new PaymentInProgressError(orderId);
  }

  private async executeRefund(charge: PaymentRecord, refund: PaymentRecord): Promise<PaymentRecord> {
    let outcome: GatewayOutcome;
    try {
      const result = await inSpan(
        'payment gateway refund',
        {
          kind: SpanKind.CLIENT,
          attributes: { [SPAN_ATTRIBUTES.orderId]: charge.orderId, 'payment.provider': this.provider.name },
        },
        () =>
          this.provider.refund({
            idempotencyKey: refund.idempotencyKey,
            chargeReference: charge.providerReference!,
            amount: refund.amount,
            currency: refund.currency,
          }),
      );
      outcome = {
        status: result.status,
        providerReference: result.reference,
        failureCode: result.failureCode,
        failureMessage: result.failureMessage,
      };
    } catch (error) {
      outcome = await this.handleGatewayError(refund, error);
    }
    this.count(outcome, true);
    return (
      (await this.payments.recordOutcome(this.dataSource, refund.id, outcome)) ??
      (await this.payments.findByKey(this.dataSource, refund.idempotencyKey))!
    );
  }

  /** A permanent error becomes a FAILED outcome; anything else releases the attempt and is rethrown. */
  private async handleGatewayError(attempt: PaymentRecord, error: unknown): Promise<GatewayOutcome> {
    if (error instanceof PermanentPaymentError) {
      return { status: 'FAILED', failureCode: error.code, failureMessage: error.message };
    }
    const code = isTransientPaymentError(error) ? error.code : 'internal_error';
    this.outcomes.inc({ outcome: 'transient', reason: code });
    this.logger.warn(
      { paymentId: attempt.id, kind: attempt.kind, code, err: (error as Error).message },
      'payment attempt failed transiently',
    );
    await this.payments.releaseAfterTransientFailure(
      this.dataSource,
      attempt.id,
      code,
      (error as Error).message,
    );
    throw error;
  }

  private count(outcome: Pick<GatewayOutcome, 'status' | 'failureCode'>, refund = false): void {
    const labels: Record<typeof outcome.status, string> = refund
      ? { SUCCEEDED: 'refunded', FAILED: 'refund_failed', PENDING: 'refund_pending' }
      : { SUCCEEDED: 'succeeded', FAILED: 'declined', PENDING: 'pending' };
    this.outcomes.inc({ outcome: labels[outcome.status], reason: outcome.failureCode ?? 'none' });
  }
}
