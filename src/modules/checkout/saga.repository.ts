import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { preparedQuery } from '../../platform/database/prepared';
import { FINISHED_SAGA_STATUSES, SagaStatus } from './saga-status';
import { SagaData, SagaOrder, SagaRecord, TimelineEntry } from './saga.types';

const SAGA_COLUMNS = `id, order_id AS "orderId", status, current_step AS "currentStep", step_history AS history, data,
  failure_reason AS "failureReason", started_at AS "startedAt", updated_at AS "updatedAt"`;

/** Oldest timeline entries are dropped past this, so a saga that waits and resumes a lot stays small. */
const MAX_HISTORY = 200;

/** saga_state and the order as the saga sees it. Every method runs in the caller's transaction. */
@Injectable()
export class SagaRepository {
  /**
   * The orders' sagas, created on first use, locked for this transaction in order id order: one advance
   * at a time per order. One round trip in the usual case: `fresh` (the orders were just placed) tries
   * the insert first, which holds the new rows' locks; otherwise the existing rows are locked first.
   */
  async lockOrCreateMany(
    tx: EntityManager,
    orderIds: readonly string[],
    fresh = false,
  ): Promise<SagaRecord[]> {
    const ids = [...new Set(orderIds)].sort();
    const found = new Map<string, SagaRecord>();
    const take = (rows: SagaRecord[]) => rows.forEach((r) => found.set(r.orderId, r));
    if (!fresh) {
      take(await this.lock(tx, ids));
    }
    let missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      const { rows } = await preparedQuery<SagaRecord>(
        tx,
        `INSERT INTO saga_state (order_id, data)
         SELECT id, '{"completed": [], "attempts": {}}'::jsonb FROM unnest($1::uuid[]) AS ids(id) ORDER BY id
         ON CONFLICT (order_id, saga_type) DO NOTHING
         RETURNING ${SAGA_COLUMNS}`,
        [missing],
      );
      take(rows);
      // Not inserted: it existed, or another transaction created it meanwhile (the insert waited for it).
      missing = ids.filter((id) => !found.has(id));
      if (missing.length > 0) {
        take(await this.lock(tx, missing));
      }
    }
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  private async lock(tx: EntityManager, orderIds: string[]): Promise<SagaRecord[]> {
    const { rows } = await preparedQuery<SagaRecord>(
      tx,
      `SELECT ${SAGA_COLUMNS} FROM saga_state WHERE order_id = ANY($1::uuid[]) ORDER BY order_id FOR UPDATE`,
      [orderIds],
    );
    return rows;
  }

  async find(tx: EntityManager, orderId: string): Promise<SagaRecord | undefined> {
    const { rows } = await preparedQuery<SagaRecord>(
      tx,
      `SELECT ${SAGA_COLUMNS} FROM saga_state WHERE order_id = $1`,
      [orderId],
    );
    return rows[0];
  }

  /** Writes the sagas' state in one statement. */
  async saveMany(tx: EntityManager, sagas: readonly SagaRecord[]): Promise<void> {
    if (sagas.length === 0) {
      return;
    }
    await preparedQuery(
      tx,
      `UPDATE saga_state s SET status = v.status, current_step = v.current_step, step_history = v.history,
         data = v.data, failure_reason = v.failure_reason, completed = v.status = 'COMPLETED',
         compensated = v.status = 'COMPENSATED', attempts = s.attempts + 1, version = s.version + 1,
         updated_at = now(),
         finished_at = CASE WHEN v.status = ANY($2::text[]) THEN coalesce(s.finished_at, now()) ELSE NULL END
       FROM jsonb_to_recordset($1::jsonb)
         AS v(id uuid, status text, current_step text, history jsonb, data jsonb, failure_reason text)
       WHERE s.id = v.id`,
      [
        JSON.stringify(
          sagas.map((saga) => ({
            id: saga.id,
            status: saga.status,
            current_step: saga.currentStep,
            history: saga.history.slice(-MAX_HISTORY) satisfies TimelineEntry[],
            data: saga.data satisfies SagaData,
            failure_reason: saga.failureReason,
          })),
        ),
        FINISHED_SAGA_STATUSES,
      ],
    );
  }

  /** The orders as the saga sees them (with their charge and saga status), in one statement. */
  async loadOrders(tx: EntityManager, orderIds: readonly string[]): Promise<SagaOrder[]> {
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
       FROM unnest($1::uuid[]) AS ids(id)
       CROSS JOIN LATERAL (SELECT * FROM orders WHERE orders.id = ids.id) o`,
      [orderIds],
    );
    return rows;
  }

  async loadOrder(tx: EntityManager, orderId: string): Promise<SagaOrder | undefined> {
    const [order] = await this.loadOrders(tx, [orderId]);
    return order;
  }

  /** Of these compensated orders, those holding money: a charge that succeeded after the refunds were made. */
  async findLateCharges(tx: EntityManager, orderIds: readonly string[]): Promise<Set<string>> {
    const { rows } = await preparedQuery<{ order_id: string }>(
      tx,
      `SELECT order_id FROM payments WHERE order_id = ANY($1::uuid[])
        GROUP BY order_id
       HAVING coalesce(sum(CASE WHEN kind = 'CHARGE' THEN amount ELSE -amount END)
                FILTER (WHERE status = 'SUCCEEDED' OR (kind = 'REFUND' AND status = 'PENDING')), 0) > 0`,
      [orderIds],
    );
    return new Set(rows.map((r) => r.order_id));
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

  /** Of these orders, those whose saga has finished (nothing more to do). */
  async findFinished(tx: EntityManager, orderIds: readonly string[]): Promise<Set<string>> {
    const rows = await tx.query<{ order_id: string }[]>(
      `SELECT order_id FROM saga_state WHERE order_id = ANY($1::uuid[]) AND status = ANY($2::text[])`,
      [orderIds, FINISHED_SAGA_STATUSES],
    );
    return new Set(rows.map((r) => r.order_id));
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

  /** Sagas in one status, most recently changed first, with the pending compensations when there are any. */
  async listByStatus(
    db: EntityManager,
    status: SagaStatus,
    page: { limit: number; offset: number },
  ): Promise<{ rows: SagaListItem[]; total: number }> {
    const rows = await db.query<(SagaListItem & { total: number })[]>(
      `SELECT order_id AS "orderId", status, current_step AS "currentStep", failure_reason AS "failureReason",
         data->'compensation'->'pending' AS "pendingCompensations", started_at AS "startedAt",
         updated_at AS "updatedAt", count(*) OVER ()::int AS total
       FROM saga_state WHERE status = $1 ORDER BY updated_at DESC, order_id LIMIT $2 OFFSET $3`,
      [status, page.limit, page.offset],
    );
    return { rows: rows.map(({ total: _total, ...row }) => row), total: rows[0]?.total ?? 0 };
  }
}

export interface SagaListItem {
  orderId: string;
  status: SagaStatus;
  currentStep: string | null;
  failureReason: string | null;
  pendingCompensations: string[] | null;
  startedAt: Date;
  updatedAt: Date;
}
