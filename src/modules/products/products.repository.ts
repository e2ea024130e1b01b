import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { keysetPage } from '../../platform/database/keyset-page';
import { Page } from '../../platform/http/pagination';
import { SortField } from './product.dto';

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  /** Exact decimal string, as numeric(12,2) arrives from pg. */
  price: string;
  currency: string;
  category: string | null;
  isActive: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ProductFields {
  sku: string;
  name: string;
  description: string;
  price: string;
  currency: string;
  category: string | null;
  isActive: boolean;
}

export interface ListFilter {
  search?: string;
  minPrice?: string;
  maxPrice?: string;
  sortBy: SortField;
  sortOrder: 'ASC' | 'DESC';
  page: number;
  limit: number;
  cursor?: string;
}

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string;
  price: string;
  currency: string;
  category: string | null;
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, sku, name, description, price, currency, category, is_active, created_at, updated_at';
const SORT_COLUMNS: Record<SortField, string> = { name: 'name', price: 'price', createdAt: 'created_at' };
/** Visible in the public catalogue; the partial indexes of the listing carry the same predicate. */
const LISTED = 'is_active AND deleted_at IS NULL';

/**
 * The product an order line is priced from, as SQL for orders' accept statement (PLACE_ORDER_SQL):
 * products own which products are for sale and the columns pricing reads; orders embed this text
 * rather than call this repository so that accepting an order stays one statement, one round trip.
 * LIMIT 1 keeps the planner from flattening the caller's LATERAL join into a scan of the catalogue.
 */
export function saleableProductSql(productId: string): string {
  return `SELECT id, sku, name, price, currency FROM products
    WHERE id = ${productId} AND ${LISTED}
    LIMIT 1`;
}

const toProduct = (row: ProductRow): Product => ({
  id: row.id,
  sku: row.sku,
  name: row.name,
  description: row.description,
  price: row.price,
  currency: row.currency,
  category: row.category,
  isActive: row.is_active,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/** `%` and `_` typed by a user are literals, not wildcards. */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The SQL of the catalogue: lean queries shaped to use the indexes of the initial migration. UPDATEs
 * that return rows are wrapped in a CTE, because TypeORM answers a bare UPDATE with [rows, count].
 */
@Injectable()
export class ProductsRepository {
  async insert(tx: EntityManager, fields: ProductFields): Promise<Product> {
    const [row] = await tx.query<ProductRow[]>(
      `INSERT INTO products (sku, name, description, price, currency, category, is_active)
       VALUES ($1, $2, $3, $4::numeric, $5, $6, $7)
       RETURNING ${COLUMNS}`,
      [
        fields.sku,
        fields.name,
        fields.description,
        fields.price,
        fields.currency,
        fields.category,
        fields.isActive,
      ],
    );
    return toProduct(row);
  }

  /** Updates the given fields of a product that is not deleted; null when there is none. */
  async update(tx: EntityManager, id: string, fields: Partial<ProductFields>): Promise<Product | null> {
    const columns: Record<keyof ProductFields, string> = {
      sku: 'sku',
      name: 'name',
      description: 'description',
      price: 'price',
      currency: 'currency',
      category: 'category',
      isActive: 'is_active',
    };
    const sets: string[] = [];
    const values: unknown[] = [id];
    for (const key of Object.keys(columns) as (keyof ProductFields)[]) {
      if (fields[key] !== undefined) {
        values.push(fields[key]);
        sets.push(`${columns[key]} = $${values.length}${key === 'price' ? '::numeric' : ''}`);
      }
    }
    const rows = await tx.query<ProductRow[]>(
      `WITH updated AS (
         UPDATE products SET ${[...sets, 'updated_at = now()'].join(', ')}
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ${COLUMNS}
       )
       SELECT * FROM updated`,
      values,
    );
    return rows[0] ? toProduct(rows[0]) : null;
  }

  async softDelete(tx: EntityManager, id: string): Promise<boolean> {
    const rows = await tx.query<{ id: string }[]>(
      `WITH deleted AS (
         UPDATE products SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id
       )
       SELECT id FROM deleted`,
      [id],
    );
    return rows.length > 0;
  }

  async findById(tx: EntityManager, id: string): Promise<Product | null> {
    const rows = await tx.query<ProductRow[]>(
      `SELECT ${COLUMNS} FROM products WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    return rows[0] ? toProduct(rows[0]) : null;
  }

  async list(tx: EntityManager, filter: ListFilter): Promise<Page<Product>> {
    const conditions = [LISTED];
    const values: unknown[] = [];
    if (filter.search) {
      values.push(`%${escapeLike(filter.search)}%`);
      conditions.push(`(name ILIKE $${values.length} OR description ILIKE $${values.length})`);
    }
    if (filter.minPrice) {
      values.push(filter.minPrice);
      conditions.push(`price >= $${values.length}::numeric`);
    }
    if (filter.maxPrice) {
      values.push(filter.maxPrice);
      conditions.push(`price <= $${values.length}::numeric`);
    }
    // The id tie-break keeps pages stable; its direction follows the partial indexes, whose created_at
    // key is DESC with id ASC, so every sort is one index scan (forward or backward). Keyset pages
    // (`cursor`) follow created_at in the requested direction, or newest first under another sort.
    const opposite = (d: 'ASC' | 'DESC') => (d === 'DESC' ? 'ASC' : 'DESC');
    const byCreation = filter.sortBy === 'createdAt';
    const createdAtOrder = byCreation ? filter.sortOrder : 'DESC';
    const page = await keysetPage<ProductRow>(
      tx,
      {
        select: COLUMNS,
        from: 'products',
        where: conditions,
        params: values,
        keyset: { createdAt: 'created_at', id: 'id', createdAtOrder, idOrder: opposite(createdAtOrder) },
        orderBy: byCreation
          ? undefined
          : `${SORT_COLUMNS[filter.sortBy]} ${filter.sortOrder}, id ${filter.sortOrder}`,
      },
      filter,
    );
    return { data: page.data.map(toProduct), meta: page.meta };
  }

  /** Full-text search over the generated `search_vector` (GIN), best rank first. */
  async searchFullText(
    tx: EntityManager,
    q: string,
    page: { offset: number; limit: number },
  ): Promise<{ items: Product[]; total: number }> {
    const [rows, [{ total }]] = await Promise.all([
      tx.query<ProductRow[]>(
        `SELECT ${COLUMNS} FROM products, websearch_to_tsquery('english', $1) AS query
          WHERE ${LISTED} AND search_vector @@ query
          ORDER BY ts_rank(search_vector, query) DESC, id
          LIMIT $2 OFFSET $3`,
        [q, page.limit, page.offset],
      ),
      tx.query<[{ total: number }]>(
        `SELECT count(*)::int AS total FROM products
          WHERE ${LISTED} AND search_vector @@ websearch_to_tsquery('english', $1)`,
        [q],
      ),
    ]);
    return { items: rows.map(toProduct), total };
  }

  /** Names starting with the term (text_pattern_ops index on lower(name)), for terms FTS cannot match. */
  async searchPrefix(
    tx: EntityManager,
    q: string,
    page: { offset: number; limit: number },
  ): Promise<{ items: Product[]; total: number }> {
    const pattern = `${escapeLike(q.toLowerCase())}%`;
    const [rows, [{ total }]] = await Promise.all([
      tx.query<ProductRow[]>(
        `SELECT ${COLUMNS} FROM products WHERE ${LISTED} AND lower(name) LIKE $1
          ORDER BY lower(name), id LIMIT $2 OFFSET $3`,
        [pattern, page.limit, page.offset],
      ),
      tx.query<[{ total: number }]>(
        `SELECT count(*)::int AS total FROM products WHERE ${LISTED} AND lower(name) LIKE $1`,
        [pattern],
      ),
    ]);
    return { items: rows.map(toProduct), total };
  }
}
