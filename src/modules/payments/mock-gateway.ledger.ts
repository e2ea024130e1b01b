import { GatewayStatus, PaymentMethod } from './payment-provider';

/**
 * The mock gateway's own books: every charge and refund it executed, as a remote gateway keeps them.
 * A real gateway is one shared service, so its books (and its idempotency keys) are seen by every
 * process of ours; the PostgreSQL ledger gives the mock that, in a table of its own
 * (`mock_gateway_ledger`), apart from the service's `payments` rows. Chaos tests read it to prove
 * that no order was charged twice at the gateway.
 */
export interface LedgerCharge {
  reference: string;
  idempotencyKey: string;
  /** From the charge's metadata; what "at most one executed charge per order" groups by. */
  orderId?: string;
  status: GatewayStatus;
  cents: number;
  currency: string;
  method: PaymentMethod;
  failureCode?: string;
  failureMessage?: string;
  refundsFail: boolean;
}

export interface LedgerRefund {
  reference: string;
  idempotencyKey: string;
  chargeReference: string;
  status: GatewayStatus;
  cents: number;
  currency: string;
  failureCode?: string;
  failureMessage?: string;
}

export interface MockGatewayLedger {
  /**
   * Books a charge unless one is already booked under its idempotency key (by any process): the row
   * that stands is returned, with `created` telling whether it is this call's.
   */
  bookCharge(charge: LedgerCharge): Promise<{ charge: LedgerCharge; created: boolean }>;
  findCharge(reference: string): Promise<LedgerCharge | undefined>;
  /** What was refunded of a charge so far (successful refunds). */
  refundedCents(chargeReference: string): Promise<number>;
  /** A pending charge (bank transfer) gets its final status. */
  settleCharge(
    reference: string,
    status: 'SUCCEEDED' | 'FAILED',
    failure?: { code: string; message: string },
  ): Promise<void>;
  /**
   * Books a refund of a charge, serialised with every other refund of it: `decide` sees the charge
   * and what was refunded of it so far and returns the refund to book. A refund already booked under
   * the same key is returned instead.
   */
  bookRefund(
    idempotencyKey: string,
    chargeReference: string,
    decide: (charge: LedgerCharge | undefined, refundedCents: number) => LedgerRefund,
  ): Promise<LedgerRefund>;
}

/** One process's books: unit tests, and a gateway without a database. */
export class InMemoryMockGatewayLedger implements MockGatewayLedger {
  private readonly charges = new Map<string, LedgerCharge>();
  private readonly chargeKeys = new Map<string, string>();
  private readonly refunds = new Map<string, LedgerRefund>();

  async bookCharge(charge: LedgerCharge): Promise<{ charge: LedgerCharge; created: boolean }> {
    const existing = this.chargeKeys.get(charge.idempotencyKey);
    if (existing) {
      return { charge: { ...this.charges.get(existing)! }, created: false };
    }
    this.charges.set(charge.reference, { ...charge });
    this.chargeKeys.set(charge.idempotencyKey, charge.reference);
    return { charge: { ...charge }, created: true };
  }

  async findCharge(reference: string): Promise<LedgerCharge | undefined> {
    const charge = this.charges.get(reference);
    return charge ? { ...charge } : undefined;
  }

  async refundedCents(chargeReference: string): Promise<number> {
    let refunded = 0;
    for (const refund of this.refunds.values()) {
      if (refund.chargeReference === chargeReference && refund.status === 'SUCCEEDED') {
        refunded += refund.cents;
      }
    }
    return refunded;
  }

  async settleCharge(
    reference: string,
    status: 'SUCCEEDED' | 'FAILED',
    failure?: { code: string; message: string },
  ): Promise<void> {
    const charge = this.charges.get(reference);
    if (charge && charge.status === 'PENDING') {
      Object.assign(charge, { status, failureCode: failure?.code, failureMessage: failure?.message });
    }
  }

  async bookRefund(
    idempotencyKey: string,
    chargeReference: string,
    decide: (charge: LedgerCharge | undefined, refundedCents: number) => LedgerRefund,
  ): Promise<LedgerRefund> {
    const existing = this.refunds.get(idempotencyKey);
    if (existing) {
      return { ...existing };
    }
    const charge = this.charges.get(chargeReference);
    const refund = decide(charge ? { ...charge } : undefined, await this.refundedCents(chargeReference));
    this.refunds.set(idempotencyKey, refund);
    return { ...refund };
  }
}
