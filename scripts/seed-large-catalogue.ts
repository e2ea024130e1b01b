/**
 * Test-only benchmark: seeds 100,000 products (with stock) into the database of DATABASE_URL, then
 * prints the EXPLAIN (ANALYZE, BUFFERS) plan of each catalogue query and the median time of the real
 * repository call. Never point it at a database you care about.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/async_orders_catalogue \
 *     node -r @swc-node/register scripts/seed-large-catalogue.ts
 */
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { prepareDatabase } from '../src/bootstrap';
import { loadConfig } from '../src/config/config';
import { ProductsRepository } from '../src/modules/products/products.repository';
import { createDataSource } from '../src/platform/database/data-source';

const TARGET = 100_000;
const RUNS = 15;
const ADJECTIVES = ['Wireless', 'Ergonomic', 'Compact', 'Portable', 'Premium', 'Rugged', 'Smart', 'Silent'];
const NOUNS = [
  'Keyboard',
  'Mouse',
  'Monitor',
  'Headphones',
  'Speaker',
  'Charger',
  'Webcam',
  'Router',
  'Lamp',
  'Dock',
];
const FEATURES = [
  'bluetooth',
  'usb-c',
  'aluminium',
  'waterproof',
  'backlit',
  'foldable',
  'magnetic',
  'recycled',
];

const LISTED = 'is_active AND deleted_at IS NULL';
const COLUMNS = 'id, sku, name, description, price, currency, category, is_active, created_at, updated_at';

/** The SQL the repository runs for each case (kept in step with products.repository.ts). */
const CASES: {
  name: string;
  sql: string;
  params: unknown[];
  run: (r: ProductsRepository, ds: DataSource) => Promise<unknown>;
}[] = [
  {
    name: 'list: default listing, page 1 (created_at DESC)',
    sql: `SELECT ${COLUMNS} FROM products WHERE ${LISTED} ORDER BY created_at DESC, id ASC LIMIT 20 OFFSET 0`,
    params: [],
    run: (r, ds) => r.list(ds.manager, { sortBy: 'createdAt', sortOrder: 'DESC', page: 1, limit: 20 }),
  },
  {
    name: 'list: total count of the default listing (capped at 10,001 rows, then estimated)',
    sql: `SELECT count(*)::int AS n FROM (SELECT 1 FROM products WHERE ${LISTED} LIMIT 10001) capped`,
    params: [],
    run: (_r, ds) =>
      ds.query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM products WHERE ${LISTED} LIMIT 10001) capped`),
  },
  {
    name: 'list: page 200 sorted by name',
    sql: `SELECT ${COLUMNS} FROM products WHERE ${LISTED} ORDER BY name ASC, id ASC LIMIT 20 OFFSET 3980`,
    params: [],
    run: (r, ds) => r.list(ds.manager, { sortBy: 'name', sortOrder: 'ASC', page: 200, limit: 20 }),
  },
  {
    name: 'filter: price 10.00..50.00 sorted by price DESC',
    sql: `SELECT ${COLUMNS} FROM products WHERE ${LISTED} AND price >= $1::numeric AND price <= $2::numeric
          ORDER BY price DESC, id DESC LIMIT 20 OFFSET 0`,
    params: ['10.00', '50.00'],
    run: (r, ds) =>
      r.list(ds.manager, {
        minPrice: '10.00',
        maxPrice: '50.00',
        sortBy: 'price',
        sortOrder: 'DESC',
        page: 1,
        limit: 20,
      }),
  },
  {
    name: 'search: ILIKE %word% on name/description (trigram GIN)',
    sql: `SELECT ${COLUMNS} FROM products WHERE ${LISTED} AND (name ILIKE $1 OR description ILIKE $1)
          ORDER BY created_at DESC, id ASC LIMIT 20 OFFSET 0`,
    params: ['%model 4242%'],
    run: (r, ds) =>
      r.list(ds.manager, {
        search: 'model 4242',
        sortBy: 'createdAt',
        sortOrder: 'DESC',
        page: 1,
        limit: 20,
      }),
  },
  {
    name: 'search: ILIKE of a common word (1 row in 8 matches)',
    sql: `SELECT ${COLUMNS} FROM products WHERE ${LISTED} AND (name ILIKE $1 OR description ILIKE $1)
          ORDER BY created_at DESC, id ASC LIMIT 20 OFFSET 0`,
    params: ['%wireless%'],
    run: (r, ds) =>
      r.list(ds.manager, {
        search: 'wireless',
        sortBy: 'createdAt',
        sortOrder: 'DESC',
        page: 1,
        limit: 20,
      }),
  },
  {
    name: 'search: full-text websearch_to_tsquery, ranked (GIN on search_vector)',
    sql: `SELECT ${COLUMNS} FROM products, websearch_to_tsquery('english', $1) AS query
          WHERE ${LISTED} AND search_vector @@ query ORDER BY ts_rank(search_vector, query) DESC, id LIMIT 20 OFFSET 0`,
    params: ['silent webcam magnetic'],
    run: (r, ds) => r.searchFullText(ds.manager, 'silent webcam magnetic', { offset: 0, limit: 20 }),
  },
  {
    name: 'search: full-text of a common word (1 row in 10 matches), ranked',
    sql: `SELECT ${COLUMNS} FROM products, websearch_to_tsquery('english', $1) AS query
          WHERE ${LISTED} AND search_vector @@ query ORDER BY ts_rank(search_vector, query) DESC, id LIMIT 20 OFFSET 0`,
    params: ['keyboard'],
    run: (r, ds) => r.searchFullText(ds.manager, 'keyboard', { offset: 0, limit: 20 }),
  },
  {
    name: 'search: name prefix (lower(name) text_pattern_ops)',
    sql: `SELECT ${COLUMNS} FROM products WHERE ${LISTED} AND lower(name) LIKE $1
          ORDER BY lower(name), id LIMIT 20 OFFSET 0`,
    params: ['rugged mo%'],
    run: (r, ds) => r.searchPrefix(ds.manager, 'rugged mo', { offset: 0, limit: 20 }),
  },
];

async function seed(ds: DataSource): Promise<void> {
  const [{ count }] = await ds.query<[{ count: number }]>(
    `SELECT count(*)::int AS count FROM products WHERE sku LIKE 'BENCH-%'`,
  );
  if (count >= TARGET) {
    console.log(`${count} benchmark products already present`);
    return;
  }
  const started = performance.now();
  await ds.transaction(async (tx) => {
    await tx.query(
      `WITH created AS (
         INSERT INTO products (sku, name, description, price, category, created_at, updated_at)
         SELECT 'BENCH-' || lpad(i::text, 6, '0'),
                ($1::text[])[1 + i % 8] || ' ' || ($2::text[])[1 + (i / 8) % 10] || ' Model ' || i,
                'A ' || lower(($2::text[])[1 + (i / 8) % 10]) || ' that is ' || ($3::text[])[1 + i % 7] ||
                  ' and ' || ($3::text[])[1 + (i / 7) % 8] || ', batch ' || (i % 997),
                ((i * 7919) % 50000 + 100)::numeric / 100,
                lower(($2::text[])[1 + (i / 8) % 10]),
                now() - make_interval(secs => i),
                now() - make_interval(secs => i)
           FROM generate_series($4::int + 1, $5::int) AS i
         RETURNING id
       ), stocked AS (
         INSERT INTO inventory (product_id, quantity) SELECT id, 100 FROM created RETURNING product_id
       )
       INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, actor, reason)
       SELECT product_id, 'REPLENISH', 100, 0, 'benchmark-seed', 'large catalogue' FROM stocked`,
      [ADJECTIVES, NOUNS, FEATURES, count, TARGET],
    );
  });
  console.log(`seeded ${TARGET - count} products in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, SEED_DEMO: 'false' });
  await prepareDatabase(config);
  const ds = await createDataSource(config, 'aop-benchmark').initialize();
  try {
    await seed(ds);
    // What autovacuum does after a bulk load: statistics, and the visibility map that lets count(*)
    // of the listing be an index-only scan of its partial index instead of a heap scan.
    await ds.query('VACUUM ANALYZE products');
    await ds.query('VACUUM ANALYZE inventory');
    const repository = new ProductsRepository();
    const [{ total }] = await ds.query<[{ total: number }]>('SELECT count(*)::int AS total FROM products');
    console.log(`products in the database: ${total}\n`);
    for (const c of CASES) {
      const plan = await ds.query<{ 'QUERY PLAN': string }[]>(
        `EXPLAIN (ANALYZE, BUFFERS) ${c.sql}`,
        c.params,
      );
      const timings: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        await c.run(repository, ds);
        timings.push(performance.now() - t0);
      }
      timings.sort((a, b) => a - b);
      const median = timings[Math.floor(RUNS / 2)];
      console.log(`=== ${c.name}`);
      console.log(plan.map((row) => row['QUERY PLAN']).join('\n'));
      console.log(
        `repository call (incl. its count query): median ${median.toFixed(2)} ms over ${RUNS} runs\n`,
      );
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
