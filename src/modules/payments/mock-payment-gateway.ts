import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { toUsdCents } from '../../platform/currencies';
import { fromCents, toCents } from '../../platform/money';
import { RandomSource } from '../../platform/random';
import { PermanentPaymentError, TransientPaymentError } from './payment.errors';
import {
  ChargeRequest,
  ChargeResult,
  GatewayPayment,
  GatewayStatus,
  PAYMENT_METHODS,
  PaymentMethod,
  PaymentProvider,
  RefundRequest,
  RefundResult,
} from './payment-provider';
import { TokenBucket } from './token-bucket';
import { WebhookSender } from './webhook-sender';

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
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Runs `fn` after `ms`; returns a cancel function. Tests pass one they can drive by hand. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

/** Realistic decline codes and how often each one occurs among permanent failures. */
const DECLINES: readonly { code: string; message: string; weight: number }[] = [
  { code: 'card_declined', message: 'The card was declined.', weight: 4 },
  { code: 'insufficient_funds', message: 'The card has insufficient funds.', weight: 3 },
  { code: 'expired_card', message: 'The card has expired.', weight: 2 },
  { code: 'incorrect_cvc', message: "The card's security code is incorrect.", weight: 1 },
];
const DECLINE_WEIGHT = DECLINES.reduce((total, d) => total + d.weight, 0);

/** Declines a gateway gives before a bank transfer even starts; the others arrive with settlement. */
const IMMEDIATE_DECLINES = new Set(['fraud_suspected', 'currency_not_supported', 'invalid_token']);

const TRANSIENT_CODES = ['processing_error', 'gateway_timeout', 'service_unavailable'] as const;

/** How one idempotency key will be handled, decided on its first sighting and kept. */
interface ChargePlan {
  transientFailures: number;
  decline?: { code: string; message: string };
  slow: boolean;
  dropResponse: boolean;
  refundsFail: boolean;
}

interface ChargeRecord {
  reference: string;
  idempotencyKey: string;
  status: GatewayStatus;
  cents: number;
  refundedCents: number;
  currency: string;
  method: PaymentMethod;
  failureCode?: string;
  failureMessage?: string;
  refundsFail: boolean;
}

interface Remembered<T> {
  fingerprint: string;
  result: Promise<T>;
  /** The caller never saw this answer: the first delivery is replaced by a timeout. */
  dropFirst: boolean;
}

/**
 * A payment gateway that behaves like a remote one: latency, random transient and permanent failures,
 * a fraud rule, its own rate limit, idempotency keys with a ledger of its own, refunds bounded by what
 * was captured, and bank transfers that settle later through a signed webhook. Stripe-style test
 * tokens (`tok_declined`, `tok_transient_2`...) script exact outcomes; see TEST_TOKENS.
 */
export class MockPaymentGateway implements PaymentProvider {
  readonly name = 'mock';
  private readonly logger = new Logger(MockPaymentGateway.name);
  private readonly bucket: TokenBucket;
  private readonly plans = new Map<string, ChargePlan>();
  private readonly transientSeen = new Map<string, number>();
  private readonly charges = new Map<string, ChargeRecord>();
  private readonly chargeResults = new Map<string, Remembered<ChargeResult>>();
  private readonly refundResults = new Map<string, Remembered<RefundResult>>();
  private readonly pendingSettlements = new Set<() => void>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void, ms: number) => () => void;
  /** How many charges really happened (money moved or was initiated): tests assert on it. */
  chargesExecuted = 0;
  /** Calls that reached the gateway while it was down. */
  outageCalls = 0;

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
      result: this.executeCharge(request, plan),
      dropFirst: plan.dropResponse,
    };
    this.chargeResults.set(request.idempotencyKey, entry);
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
    const result = Promise.resolve(this.executeRefund(request, cents));
    this.refundResults.set(request.idempotencyKey, { fingerprint, result, dropFirst: false });
    return result;
  }

  async getPayment(reference: string): Promise<GatewayPayment | undefined> {
    await this.networkLatency();
    this.failIfDown();
    this.takeRateLimitToken();
    const charge = this.chargeOf(reference);
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
   * A charge this instance made, or a settled one another instance made (a second worker process, or
   * this one before a restart): a real gateway is one shared service, so its references outlive us.
   */
  private chargeOf(reference: string): ChargeRecord | undefined {
    const known = this.charges.get(reference);
    if (known) {
      return known;
    }
    const described = chargeFromReference(reference);
    if (described) {
      this.charges.set(reference, described);
    }
    return described;
  }

  private async replay<T>(remembered: Remembered<T>, fingerprint: string, key: string): Promise<T> {
    if (remembered.fingerprint !== fingerprint) {
      throw new PermanentPaymentError(
        'idempotency_key_reused',
        `Idempotency key ${key} was already used with different parameters.`,
      );
    }
    // A retry while the first request is still running waits for the same outcome.
    const result = await remembered.result;
    remembered.dropFirst = false;
    return result;
  }

  private async executeCharge(request: ChargeRequest, plan: ChargePlan): Promise<ChargeResult> {
    if (plan.slow) {
      await this.sleep(this.options.slowLatencyMs);
    }
    const currency = request.currency.toUpperCase();
    const record: ChargeRecord = {
      reference: `ch_${randomBytes(12).toString('hex')}`,
      idempotencyKey: request.idempotencyKey,
      status: 'FAILED',
      cents: toCents(request.amount),
      refundedCents: 0,
      currency,
      method: request.method,
      refundsFail: plan.refundsFail,
    };
    const settlesLater =
      request.method === 'bank_transfer' && !IMMEDIATE_DECLINES.has(plan.decline?.code ?? '');
    if (settlesLater) {
      // A bank transfer is only initiated now; its outcome (even a decline) arrives later by webhook.
      record.status = 'PENDING';
      this.settleLater(record, plan.decline);
    } else if (plan.decline) {
      record.failureCode = plan.decline.code;
      record.failureMessage = plan.decline.message;
    } else {
      record.status = 'SUCCEEDED';
      record.reference = selfDescribingReference(record);
      this.chargesExecuted += 1;
    }
    this.charges.set(record.reference, record);
    return {
      reference: record.reference,
      status: record.status,
      amount: fromCents(record.cents),
      currency,
      failureCode: record.failureCode,
      failureMessage: record.failureMessage,
    };
  }

  private settleLater(record: ChargeRecord, decline: { code: string; message: string } | undefined): void {
    const cancel = this.schedule(() => {
      this.pendingSettlements.delete(cancel);
      record.status = decline ? 'FAILED' : 'SUCCEEDED';
      record.failureCode = decline?.code;
      record.failureMessage = decline?.message;
      if (!decline) {
        this.chargesExecuted += 1;
      }
      const event = {
        id: `evt_${randomBytes(12).toString('hex')}`,
        type: decline ? ('charge.failed' as const) : ('charge.succeeded' as const),
        created: Math.floor(this.now() / 1000),
        data: {
          reference: record.reference,
          idempotencyKey: record.idempotencyKey,
          status: decline ? ('FAILED' as const) : ('SUCCEEDED' as const),
          amount: fromCents(record.cents),
          currency: record.currency,
          failureCode: decline?.code,
          failureMessage: decline?.message,
        },
      };
      this.deps.webhooks.send(event).catch((error: Error) => {
        this.logger.warn(
          { reference: record.reference, err: error.message },
          'settlement webhook not delivered',
        );
      });
    }, this.options.bankTransferSettleMs);
    this.pendingSettlements.add(cancel);
  }

  private executeRefund(request: RefundRequest, cents: number): RefundResult {
    const reference = `re_${randomBytes(12).toString('hex')}`;
    const failed = (code: string, message: string): RefundResult => ({
      reference,
      status: 'FAILED',
      amount: request.amount,
      failureCode: code,
      failureMessage: message,
    });
    const charge = this.chargeOf(request.chargeReference);
    if (!charge) {
      return failed('charge_not_found', `No charge ${request.chargeReference}.`);
    }
    if (charge.status !== 'SUCCEEDED') {
      return failed('charge_not_settled', `Charge ${charge.reference} is ${charge.status}.`);
    }
    if (charge.currency !== request.currency.toUpperCase()) {
      return failed('currency_mismatch', `Charge ${charge.reference} is in ${charge.currency}.`);
    }
    if (cents > charge.cents - charge.refundedCents) {
      return failed(
        'refund_exceeds_captured',
        `Only ${fromCents(charge.cents - charge.refundedCents)} of ${charge.reference} can be refunded.`,
      );
    }
    if (charge.refundsFail) {
      return failed('refund_declined', 'The issuing bank refused the refund.');
    }
    charge.refundedCents += cents;
    return { reference, status: 'SUCCEEDED', amount: fromCents(cents) };
  }

  private planFor(request: ChargeRequest): ChargePlan {
    const existing = this.plans.get(request.idempotencyKey);
    if (existing) {
      return existing;
    }
    const plan = this.decide(request);
    this.plans.set(request.idempotencyKey, plan);
    return plan;
  }

  private decide(request: ChargeRequest): ChargePlan {
    const plan: ChargePlan = { transientFailures: 0, slow: false, dropResponse: false, refundsFail: false };
    const usdCents = toUsdCents(request.amount, request.currency);
    if (usdCents === undefined) {
      return {
        ...plan,
        decline: { code: 'currency_not_supported', message: `${request.currency} is not supported.` },
      };
    }
    if (usdCents > BigInt(Math.round(this.options.fraudLimitUsd * 100))) {
      return {
        ...plan,
        decline: { code: 'fraud_suspected', message: 'The payment was blocked as suspected fraud.' },
      };
    }
    if (request.token !== undefined) {
      return { ...plan, ...scriptedOutcome(request.token) };
    }
    const roll = this.deps.random();
    if (roll < this.options.successRate) {
      plan.dropResponse = this.deps.random() < this.options.dropResponseRate;
    } else if (roll < this.options.successRate + this.options.transientFailureRate) {
      plan.transientFailures = 1;
    } else {
      plan.decline = this.pickDecline();
    }
    return plan;
  }

  private pickDecline(): { code: string; message: string } {
    let point = this.deps.random() * DECLINE_WEIGHT;
    for (const decline of DECLINES) {
      point -= decline.weight;
      if (point < 0) {
        return decline;
      }
    }
    return DECLINES[0];
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

  private takeRateLimitToken(): void {
    if (!this.bucket.tryTake()) {
      throw new TransientPaymentError('rate_limited', 'Too many requests to the gateway; slow down.');
    }
  }
}

/**
 * The in-memory ledger dies with its process, so a settled charge's reference carries what a refund
 * needs (amount, currency, method, whether refunds fail). Refunds already made through another
 * instance are not known here; PaymentsService bounds refunds by its own table anyway.
 */
function selfDescribingReference(record: ChargeRecord): string {
  const facts = { c: record.cents, cur: record.currency, m: record.method, rf: record.refundsFail };
  return `${record.reference}.${Buffer.from(JSON.stringify(facts)).toString('base64url')}`;
}

function chargeFromReference(reference: string): ChargeRecord | undefined {
  const [id, encoded] = reference.split('.');
  if (!id.startsWith('ch_') || !encoded) {
    return undefined;
  }
  try {
    const facts = JSON.parse(Buffer.from(encoded, 'base64url').toString()) as {
      c: number;
      cur: string;
      m: PaymentMethod;
      rf: boolean;
    };
    if (!Number.isSafeInteger(facts.c) || typeof facts.cur !== 'string') {
      return undefined;
    }
    return {
      reference,
      idempotencyKey: '',
      status: 'SUCCEEDED',
      cents: facts.c,
      refundedCents: 0,
      currency: facts.cur,
      method: facts.m,
      refundsFail: facts.rf === true,
    };
  } catch {
    return undefined;
  }
}

/** Stripe-style test tokens: each scripts one exact behaviour, whatever the configured rates. */
export const TEST_TOKENS = {
  tok_success: 'always succeeds',
  tok_declined: 'declined: card_declined',
  tok_insufficient_funds: 'declined: insufficient_funds',
  tok_expired_card: 'declined: expired_card',
  tok_fraud: 'declined: fraud_suspected',
  tok_transient_2: 'two transient failures per idempotency key, then success',
  tok_slow: 'succeeds, but slower than the circuit breaker timeout',
  tok_lost_response: 'the charge happens but the first answer is lost (caller sees a timeout)',
  tok_refund_fails: 'the charge succeeds, every refund of it is declined',
} as const;

function scriptedOutcome(token: string): Partial<ChargePlan> {
  const decline = (code: string): Partial<ChargePlan> => ({
    decline: DECLINES.find((d) => d.code === code) ?? {
      code,
      message: code === 'fraud_suspected' ? 'The payment was blocked as suspected fraud.' : 'Declined.',
    },
  });
  switch (token) {
    case 'tok_success':
      return {};
    case 'tok_declined':
      return decline('card_declined');
    case 'tok_insufficient_funds':
      return decline('insufficient_funds');
    case 'tok_expired_card':
      return decline('expired_card');
    case 'tok_fraud':
      return decline('fraud_suspected');
    case 'tok_transient_2':
      return { transientFailures: 2 };
    case 'tok_slow':
      return { slow: true };
    case 'tok_lost_response':
      return { dropResponse: true };
    case 'tok_refund_fails':
      return { refundsFail: true };
    default:
      return { decline: { code: 'invalid_token', message: `No such token: ${token}.` } };
  }
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
