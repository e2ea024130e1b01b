import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { JWT_AUDIENCE, JWT_ISSUER } from '../src/modules/auth/token.service';
import { encodeCursor } from '../src/platform/database/keyset-page';
import { BenchDatabase, USER_ID_PREFIX } from './database';
import { HttpRequestSpec } from './workload';

const CHUNK = 100_000;

/**
 * The "1M orders" phase's table (issue 22): `count` orders spread over a year, one in twenty SHIPPED
 * (the filtered page's status), inserted in chunks, then analysed by the harness: autovacuum is off on
 * these machines, and a production database would have statistics.
 */
export async function seedOrders(
  db: BenchDatabase,
  count: number,
  users: number,
  log: (message: string) => void,
): Promise<void> {
  for (let start = 1; start <= count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK - 1);
    await db.query(
      `INSERT INTO orders (user_id, status, total_amount, currency, payment_method, created_at, updated_at, finished_at)
       SELECT ($1 || lpad((1 + n % $4::int)::text, 12, '0'))::uuid,
              CASE WHEN n % 20 = 0 THEN 'SHIPPED' WHEN n % 50 = 1 THEN 'CANCELLED' ELSE 'DELIVERED' END,
              10.99, 'USD', 'credit_card', t, t, t
       FROM generate_series($2::int, $3::int) n,
            LATERAL (SELECT now() - interval '365 days' + (n::float8 / $5::int) * interval '365 days'
                            + (hashtext(n::text) % 1000) * interval '1 millisecond' AS t) ts`,
      [USER_ID_PREFIX, start, end, users, count],
    );
    log(`million: ${end} orders`);
  }
  await db.query('VACUUM ANALYZE orders');
}

export async function adminToken(db: BenchDatabase, secret: string): Promise<string> {
  const [admin] = await db.query<{ id: string; email: string }>(
    `SELECT id, email FROM users WHERE role = 'admin' ORDER BY created_at LIMIT 1`,
  );
  return new JwtService({ secret }).sign(
    { sub: admin.id, email: admin.email, role: 'admin', jti: randomUUID() },
    { algorithm: 'HS256', expiresIn: 3600, issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
  );
}

/** Cursors at `fraction` of the way down the admin's order list (newest first), as the API would issue them. */
export async function deepCursors(db: BenchDatabase, fractions: number[]): Promise<string[]> {
  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM orders');
  const cursors: string[] = [];
  for (const fraction of fractions) {
    const [row] = await db.query<{ at: string; id: string }>(
      `SELECT created_at::text AS at, id::text FROM orders ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`,
      [Math.floor(n * fraction)],
    );
    cursors.push(encodeCursor({ at: row.at, id: row.id }));
  }
  return cursors;
}

/** GET one of `paths` in turn, as the admin. */
export function adminListRequest(token: string, paths: string[]): () => HttpRequestSpec {
  let i = 0;
  return () => ({
    method: 'GET',
    path: paths[i++ % paths.length],
    headers: { authorization: `Bearer ${token}` },
  });
}
