import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ReadReplicas } from '../../platform/database/read-replicas';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { NotFoundError } from '../../platform/http/domain-error';
import { keysetPage } from '../../platform/database/keyset-page';
import { Page, PageRequest } from '../../platform/http/pagination';
import { OrderStatus } from './order-status';
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

  /** Newest first; `cursor` pages by keyset (platform/database/keyset-page.ts), `page` by offset. */
  async list(
    viewer: AuthenticatedUser,
    filter: { status?: OrderStatus } & PageRequest,
  ): Promise<Page<OrderSummary>> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (viewer.role !== 'admin') {
      params.push(viewer.id);
      where.push(`o.user_id = $${params.length}`);
    }
    if (filter.status) {
      params.push(filter.status);
      where.push(`o.status = $${params.length}`);
    }
    // A list tolerates staleness (a replica within DATABASE_REPLICA_MAX_LAG_MS); get/status read the primary.
    const db = await this.replicas.reader();
    return keysetPage<OrderSummary>(
      db,
      {
        select: SUMMARY_COLUMNS,
        from: 'orders o',
        where,
        params,
        keyset: { createdAt: 'o.created_at', id: 'o.id', createdAtOrder: 'DESC', idOrder: 'DESC' },
      },
      filter,
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
