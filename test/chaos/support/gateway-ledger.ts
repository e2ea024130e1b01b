import { DataSource } from 'typeorm';

export interface GatewayLedgerReport {
  /** Charges the mock gateway executed (settled or initiated), across every process of the run. */
  executedCharges: number;
  /** Orders with more than one executed charge at the gateway: a double charge. */
  chargedTwice: { orderId: string; charges: number }[];
  /** Orders refunded more than they were charged at the gateway. */
  overRefunded: { orderId: string; chargedCents: number; refundedCents: number }[];
}

/**
 * What the mock gateway's shared books (`mock_gateway_ledger`) say happened to the money: read from
 * the gateway's side, so a double charge the service's own `payments` rows would never show (a second
 * idempotency key for one order, say) is counted here.
 */
export async function readGatewayLedger(ds: DataSource): Promise<GatewayLedgerReport> {
  const [{ executed }] = await ds.query<{ executed: number }[]>(
    `SELECT count(*)::int AS executed FROM mock_gateway_ledger
      WHERE kind = 'CHARGE' AND status IN ('SUCCEEDED', 'PENDING')`,
  );
  const chargedTwice = await ds.query<{ orderId: string; charges: number }[]>(
    `SELECT order_id AS "orderId", count(*)::int AS charges FROM mock_gateway_ledger
      WHERE kind = 'CHARGE' AND status IN ('SUCCEEDED', 'PENDING')
      GROUP BY order_id HAVING count(*) > 1 ORDER BY order_id`,
  );
  const overRefunded = await ds.query<{ orderId: string; chargedCents: number; refundedCents: number }[]>(
    `SELECT order_id AS "orderId",
            coalesce(sum(amount_cents) FILTER (WHERE kind = 'CHARGE' AND status = 'SUCCEEDED'), 0)::int AS "chargedCents",
            coalesce(sum(amount_cents) FILTER (WHERE kind = 'REFUND' AND status = 'SUCCEEDED'), 0)::int AS "refundedCents"
       FROM mock_gateway_ledger GROUP BY order_id
     HAVING coalesce(sum(amount_cents) FILTER (WHERE kind = 'REFUND' AND status = 'SUCCEEDED'), 0)
          > coalesce(sum(amount_cents) FILTER (WHERE kind = 'CHARGE' AND status = 'SUCCEEDED'), 0)
      ORDER BY order_id`,
  );
  return { executedCharges: executed, chargedTwice, overRefunded };
}

/** At most one executed charge per order and refunds ≤ charges, with the offending orders in the message. */
export function expectGatewayLedgerClean(report: GatewayLedgerReport): void {
  expect({ chargedTwice: report.chargedTwice, overRefunded: report.overRefunded }).toEqual({
    chargedTwice: [],
    overRefunded: [],
  });
}
