import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ReadReplicas } from '../../platform/database/read-replicas';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { NotFoundError } from '../../platform/http/domain-error';
import { offsetOf, Page, pageOf } from '../../platform/http/pagination';
import { ORDER_STATUSES, OrderStatus } from './order-status';
import { OrderLine } from './order-line';

export interface OrderSummary {
  id: string;
  userId: string;
  status: OrderStatus;
  totalAmount: string;
  currency: string;
  paymentMethod: string;
  failureReason: string | null;
  trackingNumber: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A row of the list: the summary and who placed it. */
export interface OrderListItem extends OrderSummary {
  customerEmail: string;
}

export interface OrderListFilter {
  status?: OrderStatus;
  id?: string;
  email?: string;
  from?: string;
  to?: string;
  minAmount?: string;
  maxAmount?: string;
  page: number;
  limit: number;
}

export interface StatusChangeRecord {
  id: string;
  from: OrderStatus | null;
  status: OrderStatus;
  reason: string | null;
  at: Date;
}

export interface OrderDetail extends OrderSummary {
  items: OrderLine[];
}

export interface OrderStatusView {
  id: string;
  status: OrderStatus;
  failureReason?: string;
  updatedAt: Date;
}

const SUMMARY_COLUMNS = `o.id, o.user_id AS "userId", o.status, o.total_amount::text AS "totalAmount", o.currency,
  o.payment_method AS "paymentMethod", o.failure_reason AS "failureReason", o.tracking_number AS "trackingNumber",
  o.created_at AS "createdAt", o.updated_at AS "updatedAt"`;

/**
 * The read side of orders: lean SQL straight into response shapes, no entity hydration.
 * Someone who is neither the owner nor an admin gets the same 404 as for a missing order.
 */
@Injectable()
export class OrderQueries {
  constructor(
    private readonly dataSource: DataSource,
    private readonly replicas: ReadReplicas,
  ) {}

  async list(viewer: AuthenticatedUser, filter: OrderListFilter): Promise<Page<OrderListItem>> {
    const params: unknown[] = [];
    const where: string[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (viewer.role !== 'admin') {
      add('o.user_id = ?', viewer.id);
    }
    if (filter.status) {
      add('o.status = ?', filter.status);
    }
    if (filter.id) {
      add('o.id = ?', filter.id);
    }
    if (filter.email) {
      add(`u.email ILIKE '%' || ? || '%'`, escapeLike(filter.email.trim().toLowerCase()));
    }
    if (filter.from) {
      add('o.created_at >= ?', filter.from);
    }
    if (filter.to) {
      add('o.created_at < ?', filter.to);
    }
    if (filter.minAmount) {
      add('o.total_amount >= ?::numeric', filter.minAmount);
    }
    if (filter.maxAmount) {
      add('o.total_amount <= ?::numeric', filter.maxAmount);
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const from = 'FROM orders o JOIN users u ON u.id = o.user_id';
    params.push(filter.limit, offsetOf(filter.page, filter.limit));
    // A list tolerates staleness (a replica within DATABASE_REPLICA_MAX_LAG_MS); get/status read the primary.
    const db = await this.replicas.reader();
    const rows = await db.query<(OrderListItem & { total: number })[]>(
      `SELECT ${SUMMARY_COLUMNS}, u.email AS "customerEmail", count(*) OVER ()::int AS total
       ${from} ${whereSql}
       ORDER BY o.created_at DESC, o.id DESC
       LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    let total = rows[0]?.total;
    if (total === undefined) {
      // The page is past the end: count separately so the meta still tells the truth.
      const [{ n }] = await db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n ${from} ${whereSql}`,
        params.slice(0, -2),
      );
      total = n;
    }
    return pageOf(
      rows.map(({ total: _total, ...order }) => order),
      filter.page,
      filter.limit,
      total,
    );
  }

  /** How many orders are in each status (every status listed, zeros included): the console's live counts. */
  async countByStatus(): Promise<Record<OrderStatus, number>> {
    const db = await this.replicas.reader();
    const rows = await db.query<{ status: OrderStatus; n: number }[]>(
      'SELECT status, count(*)::int AS n FROM orders GROUP BY status',
    );
    const counts = Object.fromEntries(ORDER_STATUSES.map((status) => [status, 0])) as Record<
      OrderStatus,
      number
    >;
    for (const row of rows) {
      counts[row.status] = row.n;
    }
    return counts;
  }

  /** The order's status changes, oldest first (the same rows the events stream replays). */
  async history(viewer: AuthenticatedUser, orderId: string): Promise<StatusChangeRecord[]> {
    await this.assertVisible(viewer, orderId);
    return this.dataSource.query<StatusChangeRecord[]>(
      `SELECT id::text AS id, from_status AS "from", to_status AS status, reason, created_at AS at
       FROM order_status_history WHERE order_id = $1 ORDER BY id`,
      [orderId],
    );
  }

  async get(viewer: AuthenticatedUser, orderId: string): Promise<OrderDetail> {
    const [order] = await this.dataSource.query<(OrderSummary & { items: OrderDetail['items'] })[]>(
      `SELECT ${SUMMARY_COLUMNS},
         (SELECT coalesce(jsonb_agg(jsonb_build_object('productId', i.product_id, 'sku', i.sku, 'name', i.product_name,
             'unitPrice', i.unit_price::text, 'quantity', i.quantity, 'lineTotal', i.line_total::text) ORDER BY i.sku), '[]'::jsonb)
          FROM order_items i WHERE i.order_id = o.id) AS items
       FROM orders o WHERE o.id = $1 AND ($2::uuid IS NULL OR o.user_id = $2)`,
      [orderId, viewer.role === 'admin' ? null : viewer.id],
    );
    if (!order) {
      throw new OrderNotFoundError(orderId);
    }
    return order;
  }

  async status(viewer: AuthenticatedUser, orderId: string): Promise<OrderStatusView> {
    const [order] = await this.dataSource.query<
      { id: string; status: OrderStatus; failureReason: string | null; updatedAt: Date }[]
    >(
      `SELECT id, status, failure_reason AS "failureReason", updated_at AS "updatedAt"
       FROM orders WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2)`,
      [orderId, viewer.role === 'admin' ? null : viewer.id],
    );
    if (!order) {
      throw new OrderNotFoundError(orderId);
    }
    const { failureReason, ...view } = order;
    return failureReason ? { ...view, failureReason } : view;
  }

  /** Whether the viewer may see the order (owner or admin); throws the same 404 otherwise. */
  async assertVisible(viewer: AuthenticatedUser, orderId: string): Promise<OrderStatus> {
    return (await this.status(viewer, orderId)).status;
  }
}

export class OrderNotFoundError extends NotFoundError {
  constructor(orderId: string) {
    super(`Order ${orderId} was not found.`);
  }
}

/** A search term taken literally: `%`, `_` and the backslash match themselves in ILIKE. */
function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}
