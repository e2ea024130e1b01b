import { DataSource, EntityManager } from 'typeorm';
import { GatewayStatus, PaymentMethod } from './payment-provider';
import { LedgerCharge, LedgerRefund, MockGatewayLedger } from './mock-gateway.ledger';

interface ChargeRow {
  reference: string;
  idempotencyKey: string;
  orderId: string | null;
  status: GatewayStatus;
  cents: string;
  currency: string;
  method: PaymentMethod;
  failureCode: string | null;
  failureMessage: string | null;
  refundsFail: boolean;
}

interface RefundRow {
  reference: string;
  idempotencyKey: string;
  chargeReference: string;
  status: GatewayStatus;
  cents: string;
  currency: string;
  failureCode: string | null;
  failureMessage: string | null;
}

const CHARGE_COLUMNS = `reference, idempotency_key AS "idempotencyKey", order_id AS "orderId", status,
  amount_cents AS cents, currency, method, failure_code AS "failureCode",
  failure_message AS "failureMessage", refunds_fail AS "refundsFail"`;

const REFUND_COLUMNS = `reference, idempotency_key AS "idempotencyKey", charge_reference AS "chargeReference",
  status, amount_cents AS cents, currency, failure_code AS "failureCode", failure_message AS "failureMessage"`;

/**
 * The mock gateway's books in `mock_gateway_ledger`, shared by every process on the database: the
 * gateway's idempotency holds across worker restarts as a remote gateway's would, and chaos tests can
 * count what it executed. It stands for the remote side, so it never joins the service's transactions.
 */
export class PostgresMockGatewayLedger implements MockGatewayLedger {
  constructor(private readonly dataSource: DataSource) {}

  async bookCharge(charge: LedgerCharge): Promise<{ charge: LedgerCharge; created: boolean }> {
    // The unique (kind, idempotency_key) index is the gateway's idempotency; the loser reads the winner.
    const inserted = await this.dataSource.query<ChargeRow[]>(
      `INSERT INTO mock_gateway_ledger
         (kind, reference, idempotency_key, order_id, status, amount_cents, currency, method,
          failure_code, failure_message, refunds_fail)
       VALUES ('CHARGE', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (kind, idempotency_key) DO NOTHING
       RETURNING ${CHARGE_COLUMNS}`,
      [
        charge.reference,
        charge.idempotencyKey,
        charge.orderId ?? null,
        charge.status,
        charge.cents,
        charge.currency,
        charge.method,
        charge.failureCode ?? null,
        charge.failureMessage ?? null,
        charge.refundsFail,
      ],
    );
    if (inserted.length > 0) {
      return { charge: toCharge(inserted[0]), created: true };
    }
    const [existing] = await this.dataSource.query<ChargeRow[]>(
      `SELECT ${CHARGE_COLUMNS} FROM mock_gateway_ledger WHERE kind = 'CHARGE' AND idempotency_key = $1`,
      [charge.idempotencyKey],
    );
    return { charge: toCharge(existing), created: false };
  }

  async findCharge(reference: string): Promise<LedgerCharge | undefined> {
    const [row] = await this.dataSource.query<ChargeRow[]>(
      `SELECT ${CHARGE_COLUMNS} FROM mock_gateway_ledger WHERE kind = 'CHARGE' AND reference = $1`,
      [reference],
    );
    return row ? toCharge(row) : undefined;
  }

  async refundedCents(chargeReference: string): Promise<number> {
    return sumRefunded(this.dataSource.manager, chargeReference);
  }

  async settleCharge(
    reference: string,
    status: 'SUCCEEDED' | 'FAILED',
    failure?: { code: string; message: string },
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE mock_gateway_ledger
          SET status = $2, failure_code = $3, failure_message = $4, settled_at = now()
        WHERE kind = 'CHARGE' AND reference = $1 AND status = 'PENDING'`,
      [reference, status, failure?.code ?? null, failure?.message ?? null],
    );
  }

  bookRefund(
    idempotencyKey: string,
    chargeReference: string,
    decide: (charge: LedgerCharge | undefined, refundedCents: number) => LedgerRefund,
  ): Promise<LedgerRefund> {
    return this.dataSource.transaction(async (tx) => {
      // The charge row lock serialises refunds of one charge across processes (refunds ≤ charge).
      const [charge] = await tx.query<ChargeRow[]>(
        `SELECT ${CHARGE_COLUMNS} FROM mock_gateway_ledger
          WHERE kind = 'CHARGE' AND reference = $1 FOR UPDATE`,
        [chargeReference],
      );
      const existing = await findRefund(tx, idempotencyKey);
      if (existing) {
        return existing;
      }
      const refund = decide(charge ? toCharge(charge) : undefined, await sumRefunded(tx, chargeReference));
      await tx.query(
        `INSERT INTO mock_gateway_ledger
           (kind, reference, idempotency_key, order_id, charge_reference, status, amount_cents, currency,
            failure_code, failure_message)
         VALUES ('REFUND', $1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          refund.reference,
          idempotencyKey,
          charge?.orderId ?? null,
          chargeReference,
          refund.status,
          refund.cents,
          refund.currency,
          refund.failureCode ?? null,
          refund.failureMessage ?? null,
        ],
      );
      return refund;
    });
  }
}

async function sumRefunded(db: EntityManager, chargeReference: string): Promise<number> {
  const [{ refunded }] = await db.query<{ refunded: string }[]>(
    `SELECT coalesce(sum(amount_cents), 0) AS refunded FROM mock_gateway_ledger
      WHERE kind = 'REFUND' AND charge_reference = $1 AND status = 'SUCCEEDED'`,
    [chargeReference],
  );
  return Number(refunded);
}

async function findRefund(tx: EntityManager, idempotencyKey: string): Promise<LedgerRefund | undefined> {
  const [row] = await tx.query<RefundRow[]>(
    `SELECT ${REFUND_COLUMNS} FROM mock_gateway_ledger WHERE kind = 'REFUND' AND idempotency_key = $1`,
    [idempotencyKey],
  );
  return row
    ? {
        reference: row.reference,
        idempotencyKey: row.idempotencyKey,
        chargeReference: row.chargeReference,
        status: row.status,
        cents: Number(row.cents),
        currency: row.currency,
        failureCode: row.failureCode ?? undefined,
        failureMessage: row.failureMessage ?? undefined,
      }
    : undefined;
}

function toCharge(row: ChargeRow): LedgerCharge {
  return {
    reference: row.reference,
    idempotencyKey: row.idempotencyKey,
    orderId: row.orderId ?? undefined,
    status: row.status,
    cents: Number(row.cents),
    currency: row.currency,
    method: row.method,
    failureCode: row.failureCode ?? undefined,
    failureMessage: row.failureMessage ?? undefined,
    refundsFail: row.refundsFail,
  };
}
