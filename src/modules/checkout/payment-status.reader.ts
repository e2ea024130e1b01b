import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

export interface ChargeView {
  id: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  failureCode: string | null;
  failureMessage: string | null;
}

export interface PaymentBalance {
  pendingCharge: boolean;
  /**
   * A charge attempt that never got the gateway's answer (response lost, worker killed mid-call): the
   * money may have been taken. Unlike a pending bank transfer it has no gateway reference to wait on.
   */
  chargeInDoubt: boolean;
  capturedCents: number;
  /** Refunds that succeeded or are still in flight. */
  refundedCents: number;
  refundableCents: number;
}

/** What the saga reads of an order's payments, inside its own transaction (the charge comes with the order). */
@Injectable()
export class PaymentStatusReader {
  async balance(tx: EntityManager, orderId: string): Promise<PaymentBalance> {
    const [row] = await tx.query<{ pending: boolean; doubt: boolean; captured: string; refunded: string }[]>(
      `SELECT bool_or(kind = 'CHARGE' AND status = 'PENDING') AS pending,
              bool_or(kind = 'CHARGE' AND status = 'PENDING' AND provider_reference IS NULL) AS doubt,
              coalesce(sum((amount * 100)::bigint) FILTER (WHERE kind = 'CHARGE' AND status = 'SUCCEEDED'), 0) AS captured,
              coalesce(sum((amount * 100)::bigint) FILTER (WHERE kind = 'REFUND' AND status IN ('SUCCEEDED', 'PENDING')), 0) AS refunded
       FROM payments WHERE order_id = $1`,
      [orderId],
    );
    const capturedCents = Number(row?.captured ?? 0);
    const refundedCents = Number(row?.refunded ?? 0);
    return {
      pendingCharge: row?.pending ?? false,
      chargeInDoubt: row?.doubt ?? false,
      capturedCents,
      refundedCents,
      refundableCents: capturedCents - refundedCents,
    };
  }
}
