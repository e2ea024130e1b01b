/**
 * What the rest of the system knows about a payment gateway. The mock implements it today; a Stripe
 * adapter could tomorrow without the saga noticing. Declines are answers (status FAILED with a code);
 * only gateway trouble is thrown, as a TransientPaymentError worth retrying.
 */
export const PAYMENT_PROVIDER = Symbol('PAYMENT_PROVIDER');

export const PAYMENT_METHODS = ['credit_card', 'debit_card', 'bank_transfer'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export type GatewayStatus = 'SUCCEEDED' | 'PENDING' | 'FAILED';

export interface ChargeRequest {
  /** The same key always means the same charge: a retry never charges twice. */
  idempotencyKey: string;
  /** numeric(12,2) string, e.g. "49.90". */
  amount: string;
  currency: string;
  method: PaymentMethod;
  /** Stripe-style test token (tok_success, tok_declined...) or undefined for the configured behaviour. */
  token?: string;
  metadata?: Record<string, string>;
}

export interface ChargeResult {
  /** The gateway's id of the charge (its "provider reference"). */
  reference: string;
  status: GatewayStatus;
  amount: string;
  currency: string;
  failureCode?: string;
  failureMessage?: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  /** The reference of the charge being refunded. */
  chargeReference: string;
  amount: string;
  currency: string;
}

export interface RefundResult {
  reference: string;
  status: GatewayStatus;
  amount: string;
  failureCode?: string;
  failureMessage?: string;
}

export interface GatewayPayment {
  reference: string;
  status: GatewayStatus;
  amount: string;
  refundedAmount: string;
  currency: string;
  method: PaymentMethod;
  failureCode?: string;
}

export interface PaymentProvider {
  readonly name: string;
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
  /** undefined when the gateway has no charge with this reference. */
  getPayment(reference: string): Promise<GatewayPayment | undefined>;
}
