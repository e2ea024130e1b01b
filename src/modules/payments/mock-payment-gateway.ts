import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fromCents, toCents } from '../../platform/money';
import { RandomSource } from '../../platform/random';
import { RecentMap } from '../../platform/recent-map';
import { ChargePlan, Decline, planCharge, settlesLater, TRANSIENT_CODES } from './mock-gateway-outcomes';
import { decodeReference, encodeReference } from './mock-gateway-reference';
import {
  InMemoryMockGatewayLedger,
  LedgerCharge,
  LedgerRefund,
  MockGatewayLedger,
} from './mock-gateway.ledger';
import { PermanentPaymentError, RateLimitedPaymentError, TransientPaymentError } from './payment.errors';
import {
  ChargeRequest,
  ChargeResult,
  GatewayPayment,
  PAYMENT_METHODS,
  PaymentProvider,
  RefundRequest,
  RefundResult,
} from './payment-provider';
import { TokenBucket } from './token-bucket';
import { WebhookSender } from './webhook-sender';

/** Idempotency keys remembered in memory per map (~1.5 KB a key in all): the retries of the last ~10,000 charges. */
const REMEMBERED_KEYS = 10_000;

export { TEST_TOKENS } from './mock-gateway-outcomes';

export interface MockGatewayOptions {
  successRate: number;
  transientFailureRate: number;
  latencyMinMs: number;
  latencyMaxMs: number;
  /** Slower than the circuit breaker's timeout: what `tok_slow` waits. */
  slowLatencyMs: number;
  fraudLimitUsd: number;
  dropResponseRate: number;
  /** Fault injection: while a file exists at this path, every call fails as if the gateway were down. */
  outageFile?: string;
  ratePerSecond: number;
  burst: number;
  bankTransferSettleMs: number;
}

export interface MockGatewayDependencies {
  random: RandomSource;
  webhooks: WebhookSender;
  /** The gateway's books; in memory (this process only) unless one shared by every process is given. */
  ledger?: MockGatewayLedger;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Runs `fn` after `ms`; returns a cancel function. Tests pass one they can drive by hand. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

interface Remembered<T> {
  fingerprint: string;
  result: Promise<T>;
  /** The caller never saw this answer: the first delivery is replaced by a timeout. */
  dropFirst: boolean;
}

/**
 * A payment gateway that behaves like a remote one: latency, random transient and permanent failures,
 * a fraud rule, its own rate limit (429 with Retry-After), idempotency keys kept in its ledger, refunds
 * bounded by what was captured, and bank transfers that settle later through a signed webhook. What
 * happens to a charge is decided by the outcome rules (mock-gateway-outcomes.ts); this class applies
 * them with the timing, the books and the wire behaviour of a remote service.
 */
export class MockPaymentGateway implements PaymentProvider {
  readonly name = 'mock';
  private readonly logger = new Logger(MockPaymentGateway.name);
  private readonly bucket: TokenBucket;
  private readonly ledger: MockGatewayLedger;
  // What the gateway remembers per idempotency key in this process, bounded: its books (the ledger) are
  // the idempotency across processes and time; these only script retries and replays of recent calls.
  private readonly plans = new RecentMap<string, ChargePlan>(REMEMBERED_KEYS);
  private readonly transientSeen = new RecentMap<string, number>(REMEMBERED_KEYS);
  private readonly chargeResults = new RecentMap<string, Remembered<ChargeResult>>(REMEMBERED_KEYS);
  private readonly refundResults = new RecentMap<string, Remembered<RefundResult>>(REMEMBERED_KEYS);
  private readonly pendingSettlements = new Set<() => void>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void, ms: number) => () => void;
  /** How many charges this instance really executed (money moved or was initiated): tests assert on it. */
  chargesExecuted = 0;
  /** Calls that reached the gateway while it was down. */
  outageCalls = 0;
  /** Calls answered 429 (the caller went faster than the gateway's rate limit). */
  rateLimitedCalls = 0;

  constructor(
    private readonly options: MockGatewayOptions,
    private readonly deps: MockGatewayDependencies,
  ) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.schedule =
      deps.schedule ??
      ((fn, ms) => {
        const timer = setTimeout(fn, ms);
        return () => clearTimeout(timer);
      });
    this.bucket = new TokenBucket(options.ratePerSecond, options.burst, this.now);
    this.ledger = deps.ledger ?? new InMemoryMockGatewayLedger();
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    validateCharge(request);
    await this.networkLatency();
    this.failIfDown();
    this.takeRateLimitToken();

    const fingerprint = `${toCents(request.amount)}|${request.currency.toUpperCase()}|${request.method}`;
    const remembered = this.chargeResults.get(request.idempotencyKey);
    if (remembered) {
      return this.replay(remembered, fingerprint, request.idempotencyKey);
    }

    const plan = this.planFor(request);
    const seen = this.transientSeen.get(request.idempotencyKey) ?? 0;
    if (seen < plan.transientFailures) {
      this.transientSeen.set(request.idempotencyKey, seen + 1);
      const code = TRANSIENT_CODES[seen % TRANSIENT_CODES.length];
      throw new TransientPaymentError(code, `The gateway failed to process the charge (${code}).`);
    }

    const entry: Remembered<ChargeResult> = {
      fingerprint,
      result: this.executeCharge(request, plan, fingerprint),
      dropFirst: plan.dropResponse,
    };
    this.chargeResults.set(request.idempotencyKey, entry);
    // A failed booking (the ledger unreachable) decided nothing: the next attempt starts afresh.
    entry.result.catch(() => this.chargeResults.delete(request.idempotencyKey));
    const result = await entry.result;
    if (entry.dropFirst) {
      entry.dropFirst = false;
      throw new TransientPaymentError('response_lost', 'The connection dropped before the gateway answered.');
    }
    return result;
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const cents = toCents(request.amount);
    if (cents <= 0) {
      throw new PermanentPaymentError('invalid_amount', 'A refund must be a positive amount.');
    }
    await this.networkLatency();
    this.failIfDown();
    this.takeRateLimitToken();
    const fingerprint = `${request.chargeReference}|${cents}|${request.currency.toUpperCase()}`;
    const remembered = this.refundResults.get(request.idempotencyKey);
    if (remembered) {
      return this.replay(remembered, fingerprint, request.idempotencyKey);
    }
    const result = this.executeRefund(request, cents);
    this.refundResults.set(request.idempotencyKey, { fingerprint, result, dropFirst: false });
    result.catch(() => this.refundResults.delete(request.idempotencyKey));
    return result;
  }

  async getPayment(reference: string): Promise<GatewayPayment | undefined> {
    await this.networkLatency();
    this.failIfDown();
    this.takeRateLimitToken();
    const charge = await this.chargeOf(reference);
    if (!charge) {
      return undefined;
    }
    return {
      reference: charge.reference,
      status: charge.status,
      amount: fromCents(charge.cents),
      refundedAmount: fromCents(charge.refundedCents),
      currency: charge.currency,
      method: charge.method,
      failureCode: charge.failureCode,
    };
  }

  /** Stops pending bank-transfer settlements and webhook deliveries (shutdown). */
  close(): void {
    for (const cancel of this.pendingSettlements) {
      cancel();
    }
    this.pendingSettlements.clear();
    this.deps.webhooks.close?.();
  }

  /**
   * A charge from the ledger, or one described by its reference (a ledger that never saw it): a real
   * gateway is one shared service, so its references outlive any one of our processes.
   */
  private async chargeOf(reference: string): Promise<(LedgerCharge & { refundedCents: number }) | undefined> {
    const booked = await this.ledger.findCharge(reference);
    if (booked) {
      return { ...booked, refundedCents: await this.ledger.refundedCents(reference) };
    }
    const facts = decodeReference(reference);
    return facts
      ? { reference, idempotencyKey: '', status: 'SUCCEEDED', ...facts, refundedCents: 0 }
      : undefined;
  }

  private async replay<T>(remembered: Remembered<T>, fingerprint: string, key: string): Promise<T> {
    if (remembered.fingerprint !== fingerprint) {
      throw keyReused(key);
    }
    // A retry while the first request is still running waits for the same outcome.
    const result = await remembered.result;
    remembered.dropFirst = false;
    return result;
  }

  private async executeCharge(
    request: ChargeRequest,
    plan: ChargePlan,
    fingerprint: string,
  ): Promise<ChargeResult> {
    if (plan.slow) {
      await this.sleep(this.options.slowLatencyMs);
    }
    const currency = request.currency.toUpperCase();
    const cents = toCents(request.amount);
    const id = `ch_${randomBytes(12).toString('hex')}`;
    const later = settlesLater(request, plan);
    const succeeded = !later && !plan.decline;
    const proposed: LedgerCharge = {
      // A settled charge's reference describes it, for instances whose ledger never saw it.
      reference: succeeded
        ? encodeReference(id, { cents, currency, method: request.method, refundsFail: plan.refundsFail })
        : id,
      idempotencyKey: request.idempotencyKey,
      orderId: request.metadata?.orderId,
      // A bank transfer is only initiated now; its outcome (even a decline) arrives later by webhook.
      status: later ? 'PENDING' : plan.decline ? 'FAILED' : 'SUCCEEDED',
      cents,
      currency,
      method: request.method,
      failureCode: later ? undefined : plan.decline?.code,
      failureMessage: later ? undefined : plan.decline?.message,
      refundsFail: plan.refundsFail,
    };
    // Another process of ours may have sent this key first: the gateway's books answer for it then.
    const { charge, created } = await this.ledger.bookCharge(proposed);
    if (!created && `${charge.cents}|${charge.currency}|${charge.method}` !== fingerprint) {
      throw keyReused(request.idempotencyKey);
    }
    if (created && charge.status === 'SUCCEEDED') {
      this.chargesExecuted += 1;
    }
    if (created && later) {
      this.settleLater(charge, plan.decline);
    }
    return {
      reference: charge.reference,
      status: charge.status,
      amount: fromCents(charge.cents),
      currency: charge.currency,
      failureCode: charge.failureCode,
      failureMessage: charge.failureMessage,
    };
  }

  private settleLater(charge: LedgerCharge, decline: Decline | undefined): void {
    const cancel = this.schedule(() => {
      this.pendingSettlements.delete(cancel);
      void this.settle(charge, decline);
    }, this.options.bankTransferSettleMs);
    this.pendingSettlements.add(cancel);
  }

  private async settle(charge: LedgerCharge, decline: Decline | undefined): Promise<void> {
    try {
      await this.ledger.settleCharge(charge.reference, decline ? 'FAILED' : 'SUCCEEDED', decline);
    } catch (error) {
      this.logger.warn(
        { reference: charge.reference, err: (error as Error).message },
        'settlement not booked',
      );
      return;
    }
    if (!decline) {
      this.chargesExecuted += 1;
    }
    const event = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      type: decline ? ('charge.failed' as const) : ('charge.succeeded' as const),
      created: Math.floor(this.now() / 1000),
      data: {
        reference: charge.reference,
        idempotencyKey: charge.idempotencyKey,
        status: decline ? ('FAILED' as const) : ('SUCCEEDED' as const),
        amount: fromCents(charge.cents),
        currency: charge.currency,
        failureCode: decline?.code,
        failureMessage: decline?.message,
      },
    };
    this.deps.webhooks.send(event).catch((error: Error) => {
      this.logger.warn(
        { reference: charge.reference, err: error.message },
        'settlement webhook not delivered',
      );
    });
  }

  private async executeRefund(request: RefundRequest, cents: number): Promise<RefundResult> {
    const reference = `re_${randomBytes(12).toString('hex')}`;
    const currency = request.currency.toUpperCase();
    // A charge only its reference describes (no ledger row) is checked against what it says.
    const described = decodeReference(request.chargeReference);
    const refund = await this.ledger.bookRefund(
      request.idempotencyKey,
      request.chargeReference,
      (booked, refundedCents): LedgerRefund => {
        const charge = booked ?? (described && { status: 'SUCCEEDED' as const, ...described });
        const failed = (code: string, message: string): LedgerRefund => ({
          reference,
          idempotencyKey: request.idempotencyKey,
          chargeReference: request.chargeReference,
          status: 'FAILED',
          cents,
          currency,
          failureCode: code,
          failureMessage: message,
        });
        if (!charge) {
          return failed('charge_not_found', `No charge ${request.chargeReference}.`);
        }
        if (charge.status !== 'SUCCEEDED') {
          return failed('charge_not_settled', `Charge ${request.chargeReference} is ${charge.status}.`);
        }
        if (charge.currency !== currency) {
          return failed('currency_mismatch', `Charge ${request.chargeReference} is in ${charge.currency}.`);
        }
        if (cents > charge.cents - refundedCents) {
          return failed(
            'refund_exceeds_captured',
            `Only ${fromCents(charge.cents - refundedCents)} of ${request.chargeReference} can be refunded.`,
          );
        }
        if (charge.refundsFail) {
          return failed('refund_declined', 'The issuing bank refused the refund.');
        }
        return {
          reference,
          idempotencyKey: request.idempotencyKey,
          chargeReference: request.chargeReference,
          status: 'SUCCEEDED',
          cents,
          currency,
        };
      },
    );
    return {
      reference: refund.reference,
      status: refund.status,
      amount: fromCents(refund.cents),
      failureCode: refund.failureCode,
      failureMessage: refund.failureMessage,
    };
  }

  private planFor(request: ChargeRequest): ChargePlan {
    const existing = this.plans.get(request.idempotencyKey);
    if (existing) {
      return existing;
    }
    const plan = planCharge(request, this.options, this.deps.random);
    this.plans.set(request.idempotencyKey, plan);
    return plan;
  }

  private async networkLatency(): Promise<void> {
    const { latencyMinMs: min, latencyMaxMs: max } = this.options;
    const ms = max <= min ? min : min + Math.floor(this.deps.random() * (max - min + 1));
    if (ms > 0) {
      await this.sleep(ms);
    }
  }

  /** An outage (PAYMENT_OUTAGE_FILE): the gateway answers 503 to everything, and nothing happens. */
  private failIfDown(): void {
    if (this.options.outageFile !== undefined && existsSync(this.options.outageFile)) {
      this.outageCalls += 1;
      throw new TransientPaymentError('gateway_outage', 'The payment gateway is down (503).');
    }
  }

  /** 429 with Retry-After: how long until the gateway's bucket has a token again. */
  private takeRateLimitToken(): void {
    if (!this.bucket.tryTake()) {
      this.rateLimitedCalls += 1;
      throw new RateLimitedPaymentError(Math.max(1, this.bucket.msUntilToken()));
    }
  }
}

function keyReused(key: string): PermanentPaymentError {
  return new PermanentPaymentError(
    'idempotency_key_reused',
    `Idempotency key ${key} was already used with different parameters.`,
  );
}

function validateCharge(request: ChargeRequest): void {
  let cents: number;
  try {
    cents = toCents(request.amount);
  } catch {
    throw new PermanentPaymentError('invalid_amount', `"${request.amount}" is not an amount.`);
  }
  if (cents <= 0) {
    throw new PermanentPaymentError('invalid_amount', 'A charge must be a positive amount.');
  }
  if (!(PAYMENT_METHODS as readonly string[]).includes(request.method)) {
    throw new PermanentPaymentError('invalid_method', `Unknown payment method ${request.method}.`);
  }
  if (!request.idempotencyKey) {
    throw new PermanentPaymentError('missing_idempotency_key', 'Every charge needs an idempotency key.');
  }
}
