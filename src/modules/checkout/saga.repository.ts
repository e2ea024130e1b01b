import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { preparedQuery } from '../../platform/database/prepared';
import { SagaData, SagaOrder, SagaRecord, SagaStatus, TimelineEntry } from './saga.types';

const SAGA_COLUMNS = `id, order_id AS "orderId", status, current_step AS "currentStep", step_history AS history, data,
  failure_reason AS "failureReason", started_at AS "startedAt", updated_at AS "updatedAt"`;

/** Oldest timeline entries are dropped past this, so a saga that waits and resumes a lot stays small. */
const MAX_HISTORY = 200;

const FINISHED: SagaStatus[] = ['COMPLETED', 'COMPENSATED'];

/** saga_state and the order as the saga sees it. Every method runs in the caller's transaction. */
@Injectable()
export class SagaRepository {
  /**
   * The order's saga, created on first use, locked for this transaction: one advance at a time per
   * order. One round trip in the usual case: `fresh` (the order was just placed) tries the insert first,
   * which holds the new row's lock; otherwise the existing row is locked first.
   */
  async lockOrCreate(tx: EntityManager, orderId: string, fresh = false): Promise<SagaRecord> {
    if (!fresh) {
      const existing = await this.lock(tx, orderId);
      if (existing) {
        return existing;
      }
    }
    const { rows } = await preparedQuery<SagaRecord>(
      tx,
      `INSERT INTO saga_state (order_id, data) VALUES ($1, '{"completed": [], "attempts": {}}'::jsonb)
       ON CONFLICT (order_id, saga_type) DO NOTHING
       RETURNING ${SAGA_COLUMNS}`,
      [orderId],
    );
    // Nothing inserted: it existed, or another transaction created it meanwhile (the insert waited for it).
    return rows[0] ?? (await this.lock(tx, orderId))!;
  }

  private async lock(tx: EntityManager, orderId: string): Promise<SagaRecord | undefined> {
    const { rows } = await preparedQuery<SagaRecord>(
      tx,
      `SELECT ${SAGA_COLUMNS} FROM saga_state WHERE order_id = $1 FOR UPDATE`,
      [orderId],
    );
    return rows[0];
  }

  async find(tx: EntityManager, orderId: string): Promise<SagaRecord | undefined> {
    const { rows } = await preparedQuery<SagaRecord>(
      tx,
      `SELECT ${SAGA_COLUMNS} FROM saga_state WHERE order_id = $1`,
      [orderId],
    );
    return rows[0];
  }

  async save(tx: EntityManager, saga: SagaRecord): Promise<void> {
    const history: TimelineEntry[] = saga.history.slice(-MAX_HISTORY);
    const data: SagaData = saga.data;
    await preparedQuery(
      tx,
      `UPDATE saga_state SET status = $2, current_step = $3, step_history = $4::jsonb, data = $5::jsonb,
         failure_reason = $6, completed = $7, compensated = $8, attempts = attempts + 1, version = version + 1,
         updated_at = now(), finished_at = CASE WHEN $9 THEN coalesce(finished_at, now()) ELSE NULL END
       WHERE id = $1`,
      [
        saga.id,
        saga.status,
        saga.currentStep,
        JSON.stringify(history),
        JSON.stringify(data),
        saga.failureReason,
        saga.status === 'COMPLETED',
        saga.status === 'COMPENSATED',
        FINISHED.includes(saga.status),
      ],
    );
  }

  async loadOrder(tx: EntityManager, orderId: string): Promise<SagaOrder | undefined> {
    const { rows } = await preparedQuery<SagaOrder>(
      tx,
      `SELECT o.id, o.user_id AS "userId", o.status, o.total_amount::text AS "totalAmount", o.currency,
              o.payment_method AS "paymentMethod", o.payment_token AS "paymentToken", o.created_at AS "createdAt",
              (SELECT jsonb_build_object('id', p.id, 'status', p.status, 'failureCode', p.failure_code,
                        'failureMessage', p.failure_message)
                 FROM payments p WHERE p.order_id = o.id AND p.kind = 'CHARGE'
                ORDER BY (p.status <> 'FAILED') DESC, p.created_at DESC LIMIT 1) AS charge,
              (SELECT s.status FROM saga_state s WHERE s.order_id = o.id) AS "sagaStatus",
              (SELECT coalesce(jsonb_agg(jsonb_build_object('productId', i.product_id, 'sku', i.sku, 'name', i.product_name,
                  'unitPrice', i.unit_price::text, 'quantity', i.quantity, 'lineTotal', i.line_total::text) ORDER BY i.product_id), '[]'::jsonb)
               FROM order_items i WHERE i.order_id = o.id) AS items
       FROM orders o WHERE o.id = $1`,
      [orderId],
    );
    return rows[0];
  }

  /**
   * Claims up to `limit` sagas that made no progress for `stallSeconds` (or orders whose saga never
   * started), touching them so that other workers' recovery passes skip them (SKIP LOCKED).
   */
  async claimStalled(tx: EntityManager, stallSeconds: number, limit: number): Promise<string[]> {
    const rows = await tx.query<{ order_id: string }[]>(
      `WITH stalled AS (
         SELECT id FROM saga_state
         WHERE status IN ('RUNNING', 'WAITING', 'COMPENSATING') AND updated_at < now() - make_interval(secs => $1)
         ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), touched AS (
         UPDATE saga_state s SET updated_at = now() FROM stalled WHERE s.id = stalled.id RETURNING s.order_id
       ), orphans AS (
         SELECT o.id AS order_id FROM orders o
         WHERE o.status = 'PENDING' AND o.created_at < now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM saga_state s WHERE s.order_id = o.id)
         ORDER BY o.created_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED
       )
       SELECT order_id FROM touched UNION SELECT order_id FROM orphans`,
      [stallSeconds, limit],
    );
    return rows.map((r) => r.order_id);
  }

  /** Unfinished sagas started more than `timeoutSeconds` ago. */
  async findTimedOut(tx: EntityManager, timeoutSeconds: number, limit: number): Promise<string[]> {
    const rows = await tx.query<{ order_id: string }[]>(
      `SELECT order_id FROM saga_state
       WHERE status IN ('RUNNING', 'WAITING') AND started_at < now() - make_interval(secs => $1)
       ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [timeoutSeconds, limit],
    );
    return rows.map((r) => r.order_id);
  }
}
