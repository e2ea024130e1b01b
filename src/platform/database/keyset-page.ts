import { BadRequestError } from '../http/domain-error';
import { offsetOf, Page, PageRequest } from '../http/pagination';

/** Up to this many rows are counted; past it `meta.total` is the planner's estimate. */
export const EXACT_COUNT_LIMIT = 10_000;

type Direction = 'ASC' | 'DESC';

interface Queryable {
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
}

/** One list's SQL, as its owning repository writes it; the helper adds paging, the cursor and the count. */
export interface ListQuery {
  /** The SELECT list of a row of the page. */
  select: string;
  /** FROM (with joins), e.g. `orders o`. */
  from: string;
  /** FROM of the count when the page joins tables no filter needs (the count then skips the join). */
  countFrom?: string;
  /** The filter: conditions joined with AND, using `$1..$n` of `params`. */
  where: string[];
  params: unknown[];
  /** The keyset: the creation time and id columns as the query names them, in the list's own directions. */
  keyset: { createdAt: string; id: string; createdAtOrder: Direction; idOrder: Direction };
  /**
   * The ORDER BY of offset pages when it is not the keyset (a list sorted by price, or by availability).
   * Such pages carry no nextCursor; a cursor walk always follows the keyset.
   */
  orderBy?: string;
}

interface CursorKey {
  at: string;
  id: string;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The opaque cursor: base64url JSON of the last row's key, its timestamp in UTC to the microsecond. */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.at, key.id])).toString('base64url');
}

/** The key a cursor names; a 400 problem naming `cursor` when it is not one this service issued. */
export function decodeCursor(cursor: string): CursorKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (
    !Array.isArray(key) ||
    key.length !== 2 ||
    typeof key[0] !== 'string' ||
    typeof key[1] !== 'string' ||
    !TIMESTAMP.test(key[0]) ||
    !UUID.test(key[1])
  ) {
    throw new BadRequestError('cursor is not a cursor this list returned.', [
      { field: 'cursor', message: 'must be a meta.nextCursor returned by this list' },
    ]);
  }
  return { at: key[0], id: key[1] };
}

/**
 * A page of any list, built once: `?page=&limit=` (offset) or `?cursor=&limit=` (keyset: rows after the
 * cursor's key, so a page costs the same at any depth and inserts never shift it). An empty cursor starts
 * a keyset walk at the top. `meta.total` is exact up to EXACT_COUNT_LIMIT rows (a capped count), else
 * the planner's estimate with `totalIsEstimate: true`: no request counts a whole large table.
 */
export async function keysetPage<T extends object>(
  db: Queryable,
  list: ListQuery,
  request: PageRequest,
): Promise<Page<T>> {
  const { createdAt, id, createdAtOrder, idOrder } = list.keyset;
  const keysetOrder = `${createdAt} ${createdAtOrder}, ${id} ${idOrder}`;
  const byCursor = request.cursor !== undefined;
  const params = [...list.params];
  const where = [...list.where];
  if (request.cursor) {
    const key = decodeCursor(request.cursor);
    params.push(key.at, key.id);
    const at = `$${params.length - 1}::timestamptz`;
    const after = `$${params.length}::uuid`;
    const [lt, le] = createdAtOrder === 'DESC' ? ['<', '<='] : ['>', '>='];
    const idAfter = idOrder === 'DESC' ? '<' : '>';
    // The first condition bounds an index range scan on created_at; the second skips the ties already sent.
    where.push(`${createdAt} ${le} ${at}`, `(${createdAt} ${lt} ${at} OR ${id} ${idAfter} ${after})`);
  }
  const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const orderBy = byCursor ? keysetOrder : (list.orderBy ?? keysetOrder);
  params.push(request.limit + 1);
  let paging = `LIMIT $${params.length}`;
  if (!byCursor) {
    params.push(offsetOf(request.page, request.limit));
    paging += ` OFFSET $${params.length}`;
  }
  const [rows, count] = await Promise.all([
    db.query<(T & { __keyAt: string; __keyId: string })[]>(
      `SELECT ${list.select}, ${keyText(createdAt)} AS "__keyAt", ${id}::text AS "__keyId"
       FROM ${list.from} ${whereSql} ORDER BY ${orderBy} ${paging}`,
      params,
    ),
    countOf(db, list),
  ]);
  const more = rows.length > request.limit;
  const page = rows.slice(0, request.limit);
  const last = page.at(-1);
  const inKeysetOrder = byCursor || list.orderBy === undefined;
  return {
    data: page.map(({ __keyAt: _at, __keyId: _id, ...row }) => row as unknown as T),
    meta: {
      page: byCursor ? null : request.page,
      limit: request.limit,
      total: count.total,
      totalPages: Math.ceil(count.total / request.limit),
      nextCursor: more && last && inKeysetOrder ? encodeCursor({ at: last.__keyAt, id: last.__keyId }) : null,
      ...(count.estimate ? { totalIsEstimate: true } : {}),
    },
  };
}

/** The key's instant in UTC with PostgreSQL's full precision (microseconds), whatever the session's DateStyle. */
function keyText(createdAt: string): string {
  return `to_char(${createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** The filtered count, capped; past the cap the planner's row estimate (never below what was counted). */
async function countOf(db: Queryable, list: ListQuery): Promise<{ total: number; estimate: boolean }> {
  const whereSql = list.where.length > 0 ? `WHERE ${list.where.join(' AND ')}` : '';
  const from = list.countFrom ?? list.from;
  const [{ n }] = await db.query<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${from} ${whereSql} LIMIT ${EXACT_COUNT_LIMIT + 1}) capped`,
    list.params,
  );
  if (n <= EXACT_COUNT_LIMIT) {
    return { total: n, estimate: false };
  }
  const [row] = await db.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[]>(
    `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${from} ${whereSql}`,
    list.params,
  );
  return { total: Math.max(n, Math.round(row['QUERY PLAN'][0].Plan['Plan Rows'])), estimate: true };
}
