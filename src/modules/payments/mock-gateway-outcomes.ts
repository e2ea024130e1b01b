import { toUsdCents } from '../../platform/currencies';
import { ChargeRequest } from './payment-provider';

/**
 * The mock gateway's outcome rules: what happens to a charge, decided once per idempotency key from
 * the fraud rule, the currency, a Stripe-style test token or the configured random rates. Pure rules:
 * no clock, no ledger, no network; the gateway applies the plan.
 */

export interface Decline {
  code: string;
  message: string;
}

/** How one idempotency key will be handled, decided on its first sighting and kept. */
export interface ChargePlan {
  transientFailures: number;
  decline?: Decline;
  slow: boolean;
  dropResponse: boolean;
  refundsFail: boolean;
}

export interface OutcomeRates {
  successRate: number;
  transientFailureRate: number;
  dropResponseRate: number;
  fraudLimitUsd: number;
}

/** Realistic decline codes and how often each one occurs among permanent failures. */
const DECLINES: readonly (Decline & { weight: number })[] = [
  { code: 'card_declined', message: 'The card was declined.', weight: 4 },
  { code: 'insufficient_funds', message: 'The card has insufficient funds.', weight: 3 },
  { code: 'expired_card', message: 'The card has expired.', weight: 2 },
  { code: 'incorrect_cvc', message: "The card's security code is incorrect.", weight: 1 },
];
const DECLINE_WEIGHT = DECLINES.reduce((total, d) => total + d.weight, 0);

/** Declines a gateway gives before a bank transfer even starts; the others arrive with settlement. */
const IMMEDIATE_DECLINES = new Set(['fraud_suspected', 'currency_not_supported', 'invalid_token']);

export const TRANSIENT_CODES = ['processing_error', 'gateway_timeout', 'service_unavailable'] as const;

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

/** Decides what will happen to a charge; `random` is only consulted when no rule or token decides. */
export function planCharge(request: ChargeRequest, rates: OutcomeRates, random: () => number): ChargePlan {
  const plan: ChargePlan = { transientFailures: 0, slow: false, dropResponse: false, refundsFail: false };
  const usdCents = toUsdCents(request.amount, request.currency);
  if (usdCents === undefined) {
    return {
      ...plan,
      decline: { code: 'currency_not_supported', message: `${request.currency} is not supported.` },
    };
  }
  if (usdCents > BigInt(Math.round(rates.fraudLimitUsd * 100))) {
    return {
      ...plan,
      decline: { code: 'fraud_suspected', message: 'The payment was blocked as suspected fraud.' },
    };
  }
  if (request.token !== undefined) {
    return { ...plan, ...scriptedOutcome(request.token) };
  }
  const roll = random();
  if (roll < rates.successRate) {
    plan.dropResponse = random() < rates.dropResponseRate;
  } else if (roll < rates.successRate + rates.transientFailureRate) {
    plan.transientFailures = 1;
  } else {
    plan.decline = pickDecline(random);
  }
  return plan;
}

/** A bank transfer is only initiated at once; its outcome (even most declines) comes with settlement. */
export function settlesLater(request: ChargeRequest, plan: ChargePlan): boolean {
  return request.method === 'bank_transfer' && !IMMEDIATE_DECLINES.has(plan.decline?.code ?? '');
}

function pickDecline(random: () => number): Decline {
  let point = random() * DECLINE_WEIGHT;
  for (const decline of DECLINES) {
    point -= decline.weight;
    if (point < 0) {
      return decline;
    }
  }
  return DECLINES[0];
}

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
