import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { convertedAmountSql, USD_PER_UNIT } from '../../platform/currencies';
import { ConflictError, UnprocessableError } from '../../platform/http/domain-error';
import { statementNameOn } from '../../platform/database/prepared';
import { EVENT_SCHEMA_VERSIONS } from '../../platform/outbox/domain-events';
import { OUTBOX_CHANNEL } from '../../platform/outbox/outbox.writer';
import { carrierOf } from '../../platform/tracing/trace-context';
import { saleableProductSql } from '../products/products.repository';
import { PlaceOrderDto } from './dto/place-order.dto';
import { fingerprint } from './idempotency';
import { OrderLine } from './order-line';

export interface PlacedOrder {
  id: string;
  status: 'PENDING';
  totalAmount: string;
  currency: string;
  paymentMethod: string;
  items: OrderLine[];
  createdAt: string;
}

export interface PlaceOrderResult {
  order: PlacedOrder;
  replayed: boolean;
}

const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/**
 * Accepting an order is ONE SQL statement, hence one atomic implicit transaction and one round trip:
 * price the lines from the catalogue, claim the idempotency key, insert the order, its lines, its first
 * status-history row and the OrderCreated outbox event, and NOTIFY the relay. Nothing else is awaited —
 * no Redis — so orders are accepted while Redis is down.
 *
 * The lines are priced from the products table inside this statement, which crosses a module boundary
 * on purpose (the hot path stays one round trip): the products module owns that SQL (saleableProductSql),
 * the currency table owns the conversion (convertedAmountSql); orders only embed them. Products are
 * looked up with one primary-key probe per line (the LATERAL subquery's LIMIT keeps it from being
 * flattened into a join that the prepared statement's generic plan, guessing 100 lines, would answer
 * with a sequential scan of the catalogue). No SQL comments inside: pgbench runs this text.
 *
 * Idempotency rests on the unique (user_id, key) index. An advisory lock on (user, key), tried without
 * waiting, tells a duplicate that arrives while the first is still running (409) from one that arrives
 * after it committed (the stored response is replayed).
 */
const OUTBOX_INSERT_COLUMNS =
  '(aggregate_type, aggregate_id, event_type, schema_version, payload, correlation_id';
const OUTBOX_INSERT_VALUES =
  "'order', id, 'OrderCreated', $11::int, jsonb_build_object('orderId', id, 'userId', $1::uuid), $10::text";

export const PLACE_ORDER_SQL = `
WITH input AS (
  SELECT x.product_id, x.quantity, x.ord
  FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (product_id uuid, quantity int)) WITH ORDINALITY AS x(product_id, quantity, ord)
), priced AS (
  SELECT i.ord, p.id AS product_id, p.sku, p.name, i.quantity,
         ${convertedAmountSql('p.price', 'p.currency', '$3::text', '$8::jsonb')} AS unit_price
  FROM input i
  CROSS JOIN LATERAL (${saleableProductSql('i.product_id')}) p
), gate AS (
  SELECT gen_random_uuid() AS order_id,
         (SELECT count(*) FROM priced) = (SELECT count(*) FROM input) AS complete,
         CASE WHEN $6::text IS NULL THEN true
              ELSE pg_try_advisory_xact_lock(hashtextextended($1::text || ':' || $6::text, 0)) END AS unlocked
), response AS (
  SELECT g.order_id, jsonb_build_object(
    'id', g.order_id,
    'status', 'PENDING',
    'totalAmount', (SELECT coalesce(sum(unit_price * quantity), 0) FROM priced)::numeric(12,2)::text,
    'currency', $3::text,
    'paymentMethod', $4::text,
    'items', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'productId', product_id, 'sku', sku, 'name', name, 'unitPrice', unit_price::text,
                'quantity', quantity, 'lineTotal', (unit_price * quantity)::numeric(12,2)::text) ORDER BY ord), '[]'::jsonb)
              FROM priced),
    'createdAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  ) AS body
  FROM gate g
), idem AS (
  INSERT INTO idempotency_records (user_id, key, request_fingerprint, status, response_status, response_body, resource_id, completed_at, expires_at)
  SELECT $1::uuid, $6::text, $7::text, 'COMPLETED', 202, r.body, r.order_id, now(), now() + make_interval(secs => $9::int)
  FROM gate g, response r
  WHERE $6::text IS NOT NULL AND g.unlocked AND g.complete
  ON CONFLICT (user_id, key) DO NOTHING
  RETURNING id
), proceed AS (
  SELECT g.order_id FROM gate g
  WHERE g.unlocked AND g.complete AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM idem))
), order_row AS (
  INSERT INTO orders (id, user_id, status, total_amount, currency, payment_method, payment_token, idempotency_key, correlation_id, created_at, updated_at)
  SELECT p.order_id, $1::uuid, 'PENDING', (SELECT coalesce(sum(unit_price * quantity), 0) FROM priced), $3::text, $4::text, $5::text, $6::text, $10::text, now(), now()
  FROM proceed p
  RETURNING id
), item_rows AS (
  INSERT INTO order_items (order_id, product_id, sku, product_name, unit_price, quantity, line_total)
  SELECT o.id, p.product_id, p.sku, p.name, p.unit_price, p.quantity, p.unit_price * p.quantity
  FROM order_row o CROSS JOIN priced p
  RETURNING 1
), history AS (
  INSERT INTO order_status_history (order_id, from_status, to_status, reason)
  SELECT id, NULL, 'PENDING', 'ORDER_PLACED' FROM order_row
  RETURNING 1
), outbox AS (
  INSERT INTO outbox_events ${OUTBOX_INSERT_COLUMNS})
  SELECT ${OUTBOX_INSERT_VALUES} FROM order_row
  RETURNING id
)
SELECT g.unlocked, g.complete,
       (SELECT count(*) FROM order_row)::int AS created,
       r.body AS response,
       (SELECT coalesce(jsonb_agg(i.product_id ORDER BY i.ord), '[]'::jsonb) FROM input i
         WHERE NOT EXISTS (SELECT 1 FROM priced p WHERE p.product_id = i.product_id)) AS missing,
       (SELECT count(*) FROM outbox)::int AS events,
       (SELECT count(*) FROM (SELECT pg_notify('${OUTBOX_CHANNEL}', '') FROM outbox LIMIT 1) n)::int AS notified
FROM gate g, response r`;

/**
 * The same statement with tracing on: the OrderCreated row also keeps the request's W3C trace context
 * ($12), so the relay and the saga join the request's trace. A statement of its own, so that with tracing
 * off the hot path sends exactly the text above, with the same parameters.
 */
export const PLACE_ORDER_TRACED_SQL = PLACE_ORDER_SQL.replace(
  `${OUTBOX_INSERT_COLUMNS})\n  SELECT ${OUTBOX_INSERT_VALUES} FROM order_row`,
  `${OUTBOX_INSERT_COLUMNS}, trace_context)\n  SELECT ${OUTBOX_INSERT_VALUES}, $12::jsonb FROM order_row`,
);

interface PlaceOrderRow {
  unlocked: boolean;
  complete: boolean;
  created: number;
  response: PlacedOrder;
  missing: string[];
}

interface StoredResponse {
  request_fingerprint: string;
  response_body: PlacedOrder | null;
}

export class IdempotencyKeyReusedError extends UnprocessableError {
  constructor() {
    super(
      'This Idempotency-Key was already used with a different request body.',
      undefined,
      'IDEMPOTENCY_KEY_REUSED',
    );
  }
}

export class IdempotencyKeyInFlightError extends ConflictError {
  constructor() {
    super(
      'A request with this Idempotency-Key is still being processed; retry shortly.',
      'IDEMPOTENCY_KEY_IN_FLIGHT',
    );
  }
}

export class UnknownProductsError extends UnprocessableError {
  constructor(readonly productIds: string[]) {
    super(
      `Unknown or inactive products: ${productIds.join(', ')}.`,
      productIds.map((id) => ({
        field: 'items',
        message: `product ${id} does not exist or is not for sale`,
      })),
      'UNKNOWN_PRODUCTS',
    );
  }
}

@Injectable()
export class PlaceOrderCommand {
  private readonly rates = JSON.stringify(USD_PER_UNIT);

  constructor(private readonly dataSource: DataSource) {}

  async execute(
    userId: string,
    dto: PlaceOrderDto,
    idempotencyKey: string | undefined,
    correlationId: string | undefined,
  ): Promise<PlaceOrderResult> {
    const currency = dto.currency ?? 'USD';
    const paymentMethod = dto.paymentMethod ?? 'credit_card';
    const lines = dto.items.map((i) => ({ product_id: i.productId, quantity: i.quantity }));
    // The fingerprint covers the request as the server understands it, defaults applied.
    const requestFingerprint = idempotencyKey
      ? fingerprint({
          items: [...lines].sort((a, b) => a.product_id.localeCompare(b.product_id)),
          currency,
          paymentMethod,
          paymentToken: dto.paymentToken ?? null,
        })
      : null;

    let row: PlaceOrderRow;
    try {
      // A named statement: PostgreSQL parses and plans it once per connection, not on every order
      // (measured: about 1.6x the throughput of the unnamed statement TypeORM would send); unnamed
      // with DATABASE_PREPARED_STATEMENTS=false (PgBouncer 1.18 in transaction mode).
      const traceContext = carrierOf();
      const result = await this.pool().query<PlaceOrderRow>({
        name: statementNameOn(this.dataSource, traceContext ? 'place_order_traced' : 'place_order'),
        text: traceContext ? PLACE_ORDER_TRACED_SQL : PLACE_ORDER_SQL,
        values: [
          userId,
          JSON.stringify(lines),
          currency,
          paymentMethod,
          dto.paymentToken ?? null,
          idempotencyKey ?? null,
          requestFingerprint,
          this.rates,
          IDEMPOTENCY_TTL_SECONDS,
          correlationId ?? null,
          EVENT_SCHEMA_VERSIONS.OrderCreated,
          ...(traceContext ? [JSON.stringify(traceContext)] : []),
        ],
      });
      row = result.rows[0];
    } catch (error) {
      // The record expired and was cleaned up, but the order made with the key remains: keys are never reused.
      if ((error as { constraint?: string }).constraint === 'orders_user_idempotency_key') {
        throw new IdempotencyKeyReusedError();
      }
      throw error;
    }

    if (!row.complete) {
      throw new UnknownProductsError(row.missing);
    }
    if (!row.unlocked) {
      throw new IdempotencyKeyInFlightError();
    }
    if (row.created === 1) {
      return { order: row.response, replayed: false };
    }
    return { order: await this.replay(userId, idempotencyKey!, requestFingerprint!), replayed: true };
  }

  /** The pg pool behind TypeORM's data source, for the one statement worth preparing. */
  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  private async replay(userId: string, key: string, requestFingerprint: string): Promise<PlacedOrder> {
    const [stored] = await this.dataSource.query<StoredResponse[]>(
      'SELECT request_fingerprint, response_body FROM idempotency_records WHERE user_id = $1 AND key = $2',
      [userId, key],
    );
    if (!stored?.response_body || stored.request_fingerprint !== requestFingerprint) {
      throw new IdempotencyKeyReusedError();
    }
    return stored.response_body;
  }
}
