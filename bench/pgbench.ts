import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLACE_ORDER_SQL } from '../src/modules/orders/place-order.command';
import { USD_PER_UNIT } from '../src/platform/currencies';
import { EVENT_SCHEMA_VERSIONS } from '../src/platform/outbox/domain-events';
import { PRODUCT_ID_PREFIX, USER_ID_PREFIX } from './database';

export type PgbenchMode = 'prepared' | 'extended' | 'simple';

export interface PgbenchResult {
  tps: number;
  latencyAvgMs: number | null;
  transactions: number;
  failed: number;
  clients: number;
  seconds: number;
  mode: PgbenchMode;
}

/** pgbench reads `:name` as a variable even inside string literals, so colons there become chr(58). */
export function escapeColonsInLiterals(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'/g, (literal) =>
    literal.includes(':') ? `(${literal.split(':').join(`'||chr(58)||'`)})` : literal,
  );
}

/**
 * The service's own order statement, with its bind parameters replaced by what the API would send:
 * a random benchmark user, 1–3 distinct random products with quantities 1–3, a fresh Idempotency-Key.
 */
export function pgbenchScript(users: number, products: number): string {
  const uuid = (prefix: string, variable: string): string =>
    `('${prefix}' || lpad(:${variable}::text, 12, '0'))`;
  const lines =
    `(SELECT jsonb_agg(jsonb_build_object('product_id', ${uuid(PRODUCT_ID_PREFIX, 'p')}, 'quantity', q))
     FROM (VALUES (1, :p1::int, :q1::int), (2, :p2::int, :q2::int), (3, :p3::int, :q3::int)) v(n, p, q) WHERE n <= :n::int)`.replace(
      `lpad(:p::text`,
      'lpad(p::text',
    );
  const params: Record<number, string> = {
    1: uuid(USER_ID_PREFIX, 'u'),
    2: lines,
    3: `'USD'`,
    4: `'credit_card'`,
    5: 'NULL',
    6: `('pgbench-' || :k::text)`,
    7: `repeat('0', 64)`,
    8: `'${JSON.stringify(USD_PER_UNIT)}'`,
    9: String(24 * 3600),
    10: `('pgbench-' || :k::text)`,
    11: String(EVENT_SCHEMA_VERSIONS.OrderCreated),
  };
  const sql = escapeColonsInLiterals(
    PLACE_ORDER_SQL.replace(/\$(\d+)/g, (_, n: string) => {
      const value = params[Number(n)];
      if (value === undefined) {
        throw new Error(`pgbench script: the order statement has a parameter $${n} the script does not know`);
      }
      return value;
    }),
  );
  // Three distinct products: p2 and p3 are offset from p1 into disjoint halves of the catalogue.
  const half = Math.floor(products / 2);
  return [
    `\\set u random(1, ${users})`,
    `\\set n random(1, 3)`,
    `\\set p1 random(1, ${products})`,
    `\\set p2 1 + (:p1 - 1 + random(1, ${Math.max(1, half - 1)})) % ${products}`,
    `\\set p3 1 + (:p1 - 1 + random(${half}, ${products - 1})) % ${products}`,
    `\\set q1 random(1, 3)`,
    `\\set q2 random(1, 3)`,
    `\\set q3 random(1, 3)`,
    `\\set k random(1, 9000000000000000)`,
    `${sql.trim()};`,
    '',
  ].join('\n');
}

export async function runPgbench(options: {
  database: string;
  users: number;
  products: number;
  clients: number;
  seconds: number;
  mode: PgbenchMode;
  workDir: string;
}): Promise<PgbenchResult> {
  const script = join(options.workDir, 'place-order.pgbench.sql');
  writeFileSync(script, pgbenchScript(options.users, options.products));
  const args = [
    '-h',
    '127.0.0.1',
    '-U',
    'postgres',
    '-n',
    '-M',
    options.mode,
    '-c',
    String(options.clients),
    '-j',
    '2',
    '-T',
    String(options.seconds),
    '-f',
    script,
    options.database,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('/usr/bin/pgbench', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`pgbench exited with ${code}:\n${out.slice(-2000)}`)),
    );
  });
  const number = (re: RegExp): number | null => {
    const m = re.exec(output);
    return m ? Number(m[1]) : null;
  };
  const tps = number(/tps = ([\d.]+) \(without initial connection time\)/) ?? number(/tps = ([\d.]+)/);
  if (tps === null) {
    throw new Error(`could not read pgbench's tps:\n${output.slice(-2000)}`);
  }
  return {
    tps,
    latencyAvgMs: number(/latency average = ([\d.]+) ms/),
    transactions: number(/number of transactions actually processed: (\d+)/) ?? 0,
    failed: number(/number of failed transactions: (\d+)/) ?? 0,
    clients: options.clients,
    seconds: options.seconds,
    mode: options.mode,
  };
}
