import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../../platform/database/prepared';
import { toCents } from '../../platform/money';
import { PaymentMethod } from './payment-provider';

export type PaymentKind = 'CHARGE' | 'REFUND';
export type PaymentStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

/** One attempt at moving money, as the `payments` table records it. */
export interface PaymentRecord {
  id: string;
  orderId: string;
  kind: PaymentKind;
  status: PaymentStatus;
  amount: string;
  currency: string;
  method: PaymentMethod;
  provider: string;
  providerReference: string | null;
  idempotencyKey: string;
  failureCode: string | null;
  failureMessage: string | null;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewPayment {
  orderId: string;
  kind: PaymentKind;
  amount: string;
  currency: string;
  method: PaymentMethod;
  provider: string;
  idempotencyKey: string;
}

export interface GatewayOutcome {
  status: PaymentStatus;
  providerReference?: string;
  failureCode?: string;
  failureMessage?: string;
}

const COLUMNS = `id, order_id AS "orderId", kind, status, amount, currency, method, provider,
  provider_reference AS "providerReference", idempotency_key AS "idempotencyKey",
  failure_code AS "failureCode", failure_message AS "failureMessage", attempts,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

type Db = DataSource | EntityManager;

/**
 * Lean SQL over `payments`. A PENDING row without a provider reference is an attempt not yet answered:
 * `failure_code` set on it means the last try failed transiently and anyone may retry it.
 */
@Injectable()
export class PaymentRepository {
  /** Inserts the attempt, or returns undefined when its idempotency key already exists. */
  async insertIfAbsent(db: Db, payment: NewPayment): Promise<PaymentRecord | undefined> {
    const { rows } = await preparedQuery<PaymentRecord>(
      db,
      `INSERT INTO payments (order_id, kind, status, amount, currency, method, provider, idempotency_key)
       VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7)
       ON CONFLICT DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        payment.orderId,
        payment.kind,
        payment.amount,
        payment.currency,
        payment.method,
        payment.provider,
        payment.idempotencyKey,
      ],
    );
    return rows[0];
  }

  async findByKey(db: Db, idempotencyKey: string): Promise<PaymentRecord | undefined> {
    const { rows } = await preparedQuery<PaymentRecord>(
      db,
      `SELECT ${COLUMNS} FROM payments WHERE idempotency_key = $1`,
      [idempotencyKey],
    );
    return rows[0];
  }

  async findByOrder(db: Db, orderId: string): Promise<PaymentRecord[]> {
    return db.query<PaymentRecord[]>(
      `SELECT ${COLUMNS} FROM payments WHERE order_id = $1 ORDER BY created_at, id`,
      [orderId],
    );
  }

  /** The settled charge of an order, locked so concurrent refunds see each other's reservations. */
  async lockSettledCharge(tx: EntityManager, orderId: string): Promise<PaymentRecord | undefined> {
    const rows = await tx.query<PaymentRecord[]>(
      `SELECT ${COLUMNS} FROM payments
       WHERE order_id = $1 AND kind = 'CHARGE' AND status = 'SUCCEEDED'
       FOR UPDATE`,
      [orderId],
    );
    return rows[0];
  }

  /** Refunds that count against the captured amount: done ones and ones still in flight. */
  async refundTotals(tx: EntityManager, orderId: string): Promise<{ reservedCents: number; count: number }> {
    const [row] = await tx.query<{ reserved: string; count: string }[]>(
      `SELECT coalesce(sum(amount) FILTER (WHERE status IN ('PENDING', 'SUCCEEDED')), 0)::numeric(14,2)::text AS reserved,
              count(*)::text AS count
       FROM payments WHERE order_id = $1 AND kind = 'REFUND'`,
      [orderId],
    );
    return { reservedCents: toCents(row.reserved), count: Number(row.count) };
  }

  /**
   * Takes over an unanswered attempt when the previous one released it (transient failure) or its
   * owner has been silent longer than the lease (crashed). Undefined when someone else holds it.
   */
  async claimRetry(db: Db, id: string, leaseMs: number): Promise<PaymentRecord | undefined> {
    const rows = await db.query<[PaymentRecord[], number]>(
      `UPDATE payments SET attempts = attempts + 1, failure_code = NULL, failure_message = NULL, updated_at = now()
       WHERE id = $1 AND status = 'PENDING' AND provider_reference IS NULL
         AND (failure_code IS NOT NULL OR updated_at < now() - make_interval(secs => $2::double precision / 1000))
       RETURNING ${COLUMNS}`,
      [id, leaseMs],
    );
    return rows[0][0];
  }

  /** Records the gateway's answer, unless a webhook already settled the row. */
  async recordOutcome(db: Db, id: string, outcome: GatewayOutcome): Promise<PaymentRecord | undefined> {
    const { rows } = await preparedQuery<PaymentRecord>(
      db,
      `UPDATE payments
       SET status = $2, provider_reference = coalesce($3, provider_reference), failure_code = $4,
           failure_message = $5, updated_at = now()
       WHERE id = $1 AND status = 'PENDING'
       RETURNING ${COLUMNS}`,
      [
        id,
        outcome.status,
        outcome.providerReference ?? null,
        outcome.failureCode ?? null,
        outcome.failureMessage ?? null,
      ],
    );
    return rows[0];
  }

  /** Releases an unanswered attempt after a transient failure, saying why, so a retry can claim it. */
  async releaseAfterTransientFailure(db: Db, id: string, code: string, message: string): Promise<void> {
    await db.query(
      `UPDATE payments SET failure_code = $2, failure_message = $3, updated_at = now()
       WHERE id = $1 AND status = 'PENDING'`,
      [id, code, message],
    );
  }

  /** The PENDING charge a settlement names, locked so that it is compared and settled in one go. */
  async lockPendingCharge(tx: EntityManager, idempotencyKey: string): Promise<PaymentRecord | undefined> {
    const rows = await tx.query<PaymentRecord[]>(
      `SELECT ${COLUMNS} FROM payments
       WHERE idempotency_key = $1 AND kind = 'CHARGE' AND status = 'PENDING' FOR UPDATE`,
      [idempotencyKey],
    );
    return rows[0];
  }

  /** Applies an asynchronous settlement to a PENDING charge; undefined when nothing was pending. */
  async settlePendingCharge(
    tx: EntityManager,
    idempotencyKey: string,
    outcome: Required<Pick<GatewayOutcome, 'status' | 'providerReference'>> & GatewayOutcome,
  ): Promise<PaymentRecord | undefined> {
    const rows = await tx.query<[PaymentRecord[], number]>(
      `UPDATE payments
       SET status = $2, provider_reference = $3, failure_code = $4, failure_message = $5, updated_at = now()
       WHERE idempotency_key = $1 AND kind = 'CHARGE' AND status = 'PENDING'
       RETURNING ${COLUMNS}`,
      [
        idempotencyKey,
        outcome.status,
        outcome.providerReference,
        outcome.failureCode ?? null,
        outcome.failureMessage ?? null,
      ],
    );
    return rows[0][0];
  }
}
