import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { preparedQuery } from '../../platform/database/prepared';
import { currentContext } from '../../platform/http/request-context';
import { EVENT_SCHEMA_VERSIONS } from '../../platform/outbox/domain-events';
import { OUTBOX_CHANNEL } from '../../platform/outbox/outbox.writer';
import { carrierOf, orderTrace } from '../../platform/tracing/trace-context';
import { RedisService } from '../../platform/redis/redis.service';
import {
  allowedSources,
  ANNOUNCED_STATUSES,
  CancellationInProgressError,
  FULFILMENT_STATUSES,
  IllegalTransitionError,
  OrderStatus,
  SETTLED_STATUSES,
  UNDOING_SAGA_STATUSES,
} from './order-status';

export interface StatusChange {
  orderId: string;
  from: OrderStatus;
  to: OrderStatus;
  /** order_status_history id: the SSE event id. Undefined when nothing changed. */
  eventId?: string;
  reason?: string;
  at: Date;
  changed: boolean;
}

export interface TransitionOptions {
  /** A client asked for this move: moving to the status the order already has is refused, not a no-op. */
  strict?: boolean;
  reason?: string;
  failureReason?: string;
  failureDetail?: string;
  trackingNumber?: string;
}

export interface StatusEventMessage {
  id: string;
  orderId: string;
  from: OrderStatus | null;
  status: OrderStatus;
  reason: string | null;
  at: string;
}

const STATUS_CHANGED = 'OrderStatusChanged';
/**
 * Announced moves write their OrderStatusChanged outbox event in the statement that makes them, so the
 * event exists exactly when the change does (webhooks are born in the outbox); NOTIFY wakes the relay.
 */
const ANNOUNCE_SQL = `INSERT INTO outbox_events
           (aggregate_type, aggregate_id, event_type, schema_version, payload, correlation_id, trace_context)`;

/** Redis pub/sub channel of one order's status events (used by the SSE streams of every instance). */
export function orderEventsChannel(redis: RedisService, orderId: string): string {
  return redis.key('order-events', orderId);
}

/**
 * Every change of an order's status goes through `transition`: one statement that checks the move
 * against the status table, updates the order and appends the history row (the SSE event). Moving to
 * the status the order already has is a no-op, so a re-delivered step is harmless. A fulfilment move
 * (SHIPPED, DELIVERED, REFUNDED) is also refused, in that same statement, while the order's saga is
 * undoing it (a cancellation accepted, a compensation running or parked): docs/orders.md.
 */
@Injectable()
export class OrderStatusService {
  private readonly logger = new Logger(OrderStatusService.name);

  constructor(private readonly redis: RedisService) {}

  async transition(
    tx: EntityManager,
    orderId: string,
    to: OrderStatus,
    options: TransitionOptions = {},
  ): Promise<StatusChange> {
    const { rows } = await preparedQuery<{
      from_status: OrderStatus | null;
      saga_status: string | null;
      event_id: string | null;
      at: Date;
    }>(
      tx,
      // For a fulfilment move the saga row is share-locked first (the runner and a cancellation lock it
      // before the order too, so no deadlock), and the move is refused while the order is being undone.
      `WITH saga AS (
         SELECT status FROM saga_state WHERE order_id = $1::uuid AND cardinality($9::text[]) > 0 FOR SHARE
       ), prev AS (
         SELECT status, (SELECT status FROM saga) AS saga_status FROM orders WHERE id = $1::uuid FOR UPDATE
       ), upd AS (
         UPDATE orders SET
           status = $2::text,
           updated_at = now(),
           failure_reason = coalesce($4::text, failure_reason),
           failure_detail = coalesce($5::text, failure_detail),
           tracking_number = coalesce($6::text, tracking_number),
           confirmed_at = CASE WHEN $2::text = 'CONFIRMED' THEN now() ELSE confirmed_at END,
           shipped_at = CASE WHEN $2::text = 'SHIPPED' THEN now() ELSE shipped_at END,
           delivered_at = CASE WHEN $2::text = 'DELIVERED' THEN now() ELSE delivered_at END,
           -- finished_at: when processing first settled (confirmed, cancelled, failed...): submit→final latency.
           finished_at = CASE WHEN $2::text = ANY($7::text[]) AND finished_at IS NULL THEN now() ELSE finished_at END,
           version = version + 1
         WHERE id = $1 AND status = ANY($3::text[])
           AND NOT coalesce((SELECT saga_status FROM prev) = ANY($9::text[]), false)
         RETURNING id
       ), hist AS (
         INSERT INTO order_status_history (order_id, from_status, to_status, reason)
         SELECT $1::uuid, (SELECT status FROM prev), $2::text, $8::text FROM upd
         RETURNING id, created_at
       ), announced AS (
         ${ANNOUNCE_SQL}
           SELECT 'order', $1::uuid, '${STATUS_CHANGED}', $11::int,
                  jsonb_build_object('orderId', $1::text, 'from', (SELECT status FROM prev), 'to', $2::text,
                                     'reason', $8::text, 'at', hist.created_at),
                  $12::text, $13::jsonb
           FROM hist WHERE $10::boolean
           RETURNING id
       )
       SELECT (SELECT status FROM prev) AS from_status, (SELECT saga_status FROM prev) AS saga_status,
              (SELECT id::text FROM hist) AS event_id,
              coalesce((SELECT created_at FROM hist), now()) AS at,
              (SELECT count(pg_notify('${OUTBOX_CHANNEL}', '')) FROM announced) AS announced`,
      [
        orderId,
        to,
        allowedSources(to),
        options.failureReason ?? null,
        options.failureDetail ?? null,
        options.trackingNumber ?? null,
        SETTLED_STATUSES,
        options.reason ?? options.failureReason ?? null,
        FULFILMENT_STATUSES.includes(to) ? UNDOING_SAGA_STATUSES : [],
        ANNOUNCED_STATUSES.includes(to),
        EVENT_SCHEMA_VERSIONS[STATUS_CHANGED],
        currentContext()?.correlationId ?? null,
        // The order's trace, so the webhook fan-out joins it; absent with tracing off.
        carrierOf(orderTrace(orderId)) ?? null,
      ],
    );
    const row = rows[0];
    if (!row || row.from_status === null) {
      throw new IllegalTransitionError(undefined, to);
    }
    if (row.event_id === null) {
      if (row.from_status === to && !options.strict) {
        return { orderId, from: to, to, at: row.at, changed: false };
      }
      if (
        allowedSources(to).includes(row.from_status) &&
        (UNDOING_SAGA_STATUSES as readonly (string | null)[]).includes(row.saga_status)
      ) {
        throw new CancellationInProgressError(to, row.saga_status!);
      }
      throw new IllegalTransitionError(row.from_status, to);
    }
    return {
      orderId,
      from: row.from_status,
      to,
      eventId: row.event_id,
      reason: options.reason ?? options.failureReason,
      at: row.at,
      changed: true,
    };
  }

  /**
   * For a fulfilment step that is not itself a status change (the gateway call of an admin refund):
   * refuses it while the order's saga is undoing the order.
   */
  async assertNotBeingUndone(tx: EntityManager, orderId: string, to: OrderStatus): Promise<void> {
    const { rows } = await preparedQuery<{ status: string }>(
      tx,
      'SELECT status FROM saga_state WHERE order_id = $1::uuid FOR SHARE',
      [orderId],
    );
    const sagaStatus = rows[0]?.status;
    if (sagaStatus !== undefined && (UNDOING_SAGA_STATUSES as readonly string[]).includes(sagaStatus)) {
      throw new CancellationInProgressError(to, sagaStatus);
    }
  }

  /**
   * `transition` for several orders in one statement (the saga's batches): the rows are locked in id
   * order. All or nothing: when any order may not move (and is not already there), nothing is kept —
   * IllegalTransitionError is thrown and the caller's transaction must roll back.
   */
  async transitionMany(
    tx: EntityManager,
    orderIds: readonly string[],
    to: OrderStatus,
    options: TransitionOptions = {},
  ): Promise<StatusChange[]> {
    if (orderIds.length === 1) {
      return [await this.transition(tx, orderIds[0], to, options)];
    }
    const { rows } = await preparedQuery<{
      id: string;
      from_status: OrderStatus;
      event_id: string | null;
      at: Date;
    }>(
      tx,
      `WITH prev AS (
         SELECT id, status FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
       ), upd AS (
         UPDATE orders o SET
           status = $2::text,
           updated_at = now(),
           failure_reason = coalesce($4::text, o.failure_reason),
           failure_detail = coalesce($5::text, o.failure_detail),
           tracking_number = coalesce($6::text, o.tracking_number),
           confirmed_at = CASE WHEN $2::text = 'CONFIRMED' THEN now() ELSE o.confirmed_at END,
           shipped_at = CASE WHEN $2::text = 'SHIPPED' THEN now() ELSE o.shipped_at END,
           delivered_at = CASE WHEN $2::text = 'DELIVERED' THEN now() ELSE o.delivered_at END,
           finished_at = CASE WHEN $2::text = ANY($7::text[]) AND o.finished_at IS NULL THEN now() ELSE o.finished_at END,
           version = o.version + 1
         FROM prev WHERE o.id = prev.id AND prev.status = ANY($3::text[])
         RETURNING o.id
       ), hist AS (
         INSERT INTO order_status_history (order_id, from_status, to_status, reason)
         SELECT prev.id, prev.status, $2::text, $8::text FROM upd JOIN prev USING (id) ORDER BY prev.id
         RETURNING id, order_id, created_at
       ), announced AS (
         ${ANNOUNCE_SQL}
           SELECT 'order', hist.order_id, '${STATUS_CHANGED}', $10::int,
                  jsonb_build_object('orderId', hist.order_id::text, 'from', prev.status, 'to', $2::text,
                                     'reason', $8::text, 'at', hist.created_at),
                  $11::text, NULL
           FROM hist JOIN prev ON prev.id = hist.order_id WHERE $9::boolean ORDER BY hist.order_id
           RETURNING id
       ), notified AS (
         SELECT count(pg_notify('${OUTBOX_CHANNEL}', '')) AS n FROM announced
       )
       SELECT prev.id, prev.status AS from_status, hist.id::text AS event_id, coalesce(hist.created_at, now()) AS at
         FROM prev LEFT JOIN hist ON hist.order_id = prev.id CROSS JOIN notified`,
      [
        orderIds,
        to,
        allowedSources(to),
        options.failureReason ?? null,
        options.failureDetail ?? null,
        options.trackingNumber ?? null,
        SETTLED_STATUSES,
        options.reason ?? options.failureReason ?? null,
        ANNOUNCED_STATUSES.includes(to),
        EVENT_SCHEMA_VERSIONS[STATUS_CHANGED],
        currentContext()?.correlationId ?? null,
      ],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return orderIds.map((orderId) => {
      const row = byId.get(orderId);
      if (!row) {
        throw new IllegalTransitionError(undefined, to);
      }
      if (row.event_id === null) {
        if (row.from_status === to && !options.strict) {
          return { orderId, from: to, to, at: row.at, changed: false };
        }
        throw new IllegalTransitionError(row.from_status, to);
      }
      return {
        orderId,
        from: row.from_status,
        to,
        eventId: row.event_id,
        reason: options.reason ?? options.failureReason,
        at: row.at,
        changed: true,
      };
    });
  }

  /** Tells live SSE streams on every instance; call after the transaction committed. Best effort: streams also poll. */
  async publish(change: StatusChange): Promise<void> {
    if (!change.changed || change.eventId === undefined) {
      return;
    }
    const message: StatusEventMessage = {
      id: change.eventId,
      orderId: change.orderId,
      from: change.from,
      status: change.to,
      reason: change.reason ?? null,
      at: change.at.toISOString(),
    };
    try {
      await this.redis.client.publish(
        orderEventsChannel(this.redis, change.orderId),
        JSON.stringify(message),
      );
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, orderId: change.orderId },
        'could not publish a status event',
      );
    }
  }
}
