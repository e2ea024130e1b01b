import { randomUUID } from 'node:crypto';
import { createProduct } from '../factories/product.factory';
import { createUser, createUserWithToken } from '../factories/user.factory';
import { startTestApp, TestApp } from '../support/test-app';

interface ListBody {
  data: { id?: string; productId?: string }[];
  meta: {
    page: number | null;
    limit: number;
    total: number;
    nextCursor: string | null;
    totalIsEstimate?: true;
  };
}

/** `?limit=&cursor=` on every list that grows without bound (issue 22), against the real PostgreSQL. */
describe('Keyset pagination', () => {
  let sut: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    sut = await startTestApp();
    adminToken = (await createUserWithToken(sut, { role: 'admin' })).token;
  });
  afterAll(() => sut.close());

  const get = async (path: string, token = adminToken): Promise<ListBody> =>
    (await sut.http().get(`/api/v1${path}`).set('authorization', `Bearer ${token}`).expect(200))
      .body as ListBody;

  /**
   * Follows nextCursor to the end from page 1 or, with `fromTop`, from `cursor=` (a list whose offset pages
   * are sorted otherwise has no cursor on them); `between` runs after each page.
   */
  async function walk(
    path: string,
    options: { token?: string; between?: () => Promise<void>; fromTop?: boolean } = {},
  ) {
    const pages: ListBody[] = [];
    const sep = path.includes('?') ? '&' : '?';
    let body = await get(options.fromTop ? `${path}${sep}cursor=` : path, options.token);
    pages.push(body);
    while (body.meta.nextCursor !== null && pages.length < 100) {
      await options.between?.();
      body = await get(`${path}${sep}cursor=${body.meta.nextCursor}`, options.token);
      pages.push(body);
    }
    return { pages, ids: pages.flatMap((p) => p.data.map((row) => (row.id ?? row.productId)!)) };
  }

  describe('orders', () => {
    let customer: { id: string };
    let customerToken: string;
    let expected: string[];

    beforeAll(async () => {
      ({ user: customer, token: customerToken } = await createUserWithToken(sut));
      // Seven orders, three of them created at the same instant: the id breaks the tie.
      await sut.dataSource.query(
        `INSERT INTO orders (user_id, status, total_amount, created_at)
         SELECT $1, 'CONFIRMED', 10, CASE WHEN n <= 3 THEN timestamptz '2026-01-01 10:00:00.123456+00'
                                         ELSE timestamptz '2026-01-01 10:00:00+00' + make_interval(secs => n) END
         FROM generate_series(1, 7) n`,
        [customer.id],
      );
      expected = (
        await sut.dataSource.query<{ id: string }[]>(
          `SELECT id FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC`,
          [customer.id],
        )
      ).map((r) => r.id);
    });

    it('walks every order once, newest first, from page 1 through meta.nextCursor', async () => {
      const { pages, ids } = await walk('/orders?limit=3', { token: customerToken });
      expect(ids).toEqual(expected);
      expect(pages.map((p) => p.data.length)).toEqual([3, 3, 1]);
      expect(pages[0].meta).toMatchObject({ page: 1, limit: 3, total: 7 });
      expect(pages[1].meta).toMatchObject({ page: null, limit: 3, total: 7 });
      expect(pages[2].meta.nextCursor).toBeNull();
    });

    it('is stable under inserts: orders placed during the walk neither shift nor repeat a page', async () => {
      const { ids } = await walk('/orders?limit=2', {
        token: customerToken,
        between: async () => {
          await sut.dataSource.query(
            `INSERT INTO orders (user_id, status, total_amount) VALUES ($1, 'PENDING', 5)`,
            [customer.id],
          );
        },
      });
      // The first page was read before any insert; every later page continues after its cursor.
      expect(ids).toEqual(expected);
    });

    it('answers the same page for the same cursor (a round trip through the opaque cursor)', async () => {
      const first = await get('/orders?limit=2', customerToken);
      const cursor = first.meta.nextCursor!;
      const again = await get(`/orders?limit=2&cursor=${cursor}`, customerToken);
      const twice = await get(`/orders?limit=2&cursor=${cursor}`, customerToken);
      expect(twice).toEqual(again);
      expect(again.data.map((o) => o.id)).toEqual(
        (await walk('/orders?limit=2', { token: customerToken })).ids.slice(2, 4),
      );
    });

    it('starts a walk at the top with an empty cursor', async () => {
      const top = await get('/orders?limit=2&cursor=', customerToken);
      const first = await get('/orders?limit=2', customerToken);
      expect(top.data).toEqual(first.data);
      expect(top.meta.nextCursor).toBe(first.meta.nextCursor);
    });

    it.each([
      ['not base64 JSON', 'not-a-cursor'],
      ['JSON of another shape', Buffer.from('{"a":1}').toString('base64url')],
      [
        'a key that is no timestamp',
        Buffer.from(JSON.stringify(['yesterday', randomUUID()])).toString('base64url'),
      ],
      [
        'an id that is no uuid',
        Buffer.from(JSON.stringify(['2026-01-01 10:00:00+00', '1; DROP'])).toString('base64url'),
      ],
    ])('refuses %s with a 400 problem naming cursor', async (_case, cursor) => {
      const res = await sut
        .http()
        .get(`/api/v1/orders?limit=2&cursor=${encodeURIComponent(cursor)}`)
        .set('authorization', `Bearer ${customerToken}`)
        .expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors).toEqual([{ field: 'cursor', message: expect.any(String) }]);
    });
  });

  describe('the other lists', () => {
    it('products: a search walked by cursor returns each match once, newest first', async () => {
      const word = `kp${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 5; i++) {
        await createProduct(sut.dataSource, { name: `Keyset ${word} ${i}` });
      }
      const { ids, pages } = await walk(`/products?search=${word}&limit=2`);
      const expected = await sut.dataSource.query<{ id: string }[]>(
        `SELECT id FROM products WHERE name LIKE $1 ORDER BY created_at DESC, id ASC`,
        [`Keyset ${word}%`],
      );
      expect(ids).toEqual(expected.map((r) => r.id));
      expect(pages).toHaveLength(3);
    });

    it('products: a page sorted by price has no cursor (cursors follow creation time)', async () => {
      const body = await get('/products?sortBy=price&limit=1');
      expect(body.meta.nextCursor).toBeNull();
    });

    it('users: a search walked by cursor returns each match once', async () => {
      const tag = randomUUID().slice(0, 8);
      const made = [];
      for (let i = 0; i < 5; i++) {
        made.push((await createUser(sut.dataSource, { email: `keyset-${tag}-${i}@example.com` })).id);
      }
      const { ids } = await walk(`/users?search=keyset-${tag}&limit=2`);
      expect([...ids].sort()).toEqual([...made].sort());
      expect(new Set(ids).size).toBe(5);
    });

    it('inventory: a cursor walk lists every stock record once', async () => {
      const mine = [];
      for (let i = 0; i < 3; i++) {
        mine.push((await createProduct(sut.dataSource, { stock: i })).id);
      }
      // Offset pages list the lowest availability first: no cursor on them.
      expect((await get('/inventory?limit=1')).meta.nextCursor).toBeNull();
      const { ids, pages } = await walk('/inventory?limit=5', { fromTop: true });
      expect(pages.length).toBeGreaterThan(1);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(mine));
      // In the keyset's order (the products' creation, newest first), whatever other spec files add meanwhile.
      const ordered = await sut.dataSource.query<{ id: string }[]>(
        `SELECT id FROM products WHERE id = ANY($1) ORDER BY created_at DESC, id ASC`,
        [ids],
      );
      expect(ids).toEqual(ordered.map((r) => r.id));
    });

    describe('dead letters, and a total past 10,000 rows', () => {
      // Filters take real queue names: the rows are told apart by their job name.
      const filter = 'queue=inventory-management&reason=STALLED&status=DISCARDED';
      const jobName = `keyset-${randomUUID()}`;
      beforeAll(async () => {
        await sut.dataSource.query(
          `INSERT INTO dead_letters (queue, job_name, job_id, payload, error, failure_reason, status)
           SELECT 'inventory-management', $1::text, $1::text || '-' || n, '{}'::jsonb, 'boom', 'STALLED', 'DISCARDED'
           FROM generate_series(1, 10050) n`,
          [jobName],
        );
        // Autovacuum is off on these machines: the estimate needs statistics.
        await sut.dataSource.query(`ANALYZE dead_letters`);
      });
      afterAll(() => sut.dataSource.query(`DELETE FROM dead_letters WHERE job_name = $1`, [jobName]));

      it('counts exactly up to 10,000 matching rows', async () => {
        const small = await get(`/admin/dead-letters?queue=inventory-management&status=OPEN&limit=5`);
        const [{ n }] = await sut.dataSource.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM dead_letters WHERE queue = 'inventory-management' AND status = 'OPEN'`,
        );
        expect(small.meta.total).toBe(n);
        expect(small.meta).not.toHaveProperty('totalIsEstimate');
      });

      it('past 10,000 gives the planner estimate with totalIsEstimate, and pages by cursor all the same', async () => {
        const first = await get(`/admin/dead-letters?${filter}&limit=100`);
        expect(first.meta.totalIsEstimate).toBe(true);
        expect(first.meta.total).toBeGreaterThan(10_000);
        expect(first.meta.total).toBeLessThan(20_000);
        const second = await get(`/admin/dead-letters?${filter}&limit=100&cursor=${first.meta.nextCursor}`);
        expect(second.data).toHaveLength(100);
        const firstIds = new Set(first.data.map((d) => d.id));
        expect(second.data.some((d) => firstIds.has(d.id))).toBe(false);
      });
    });
  });

  it('documents cursor on every keyset list and nextCursor in the page meta (Swagger)', async () => {
    const doc = (await sut.http().get('/api/docs-json').expect(200)).body as {
      paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
    };
    for (const path of [
      '/api/v1/orders',
      '/api/v1/products',
      '/api/v1/users',
      '/api/v1/inventory',
      '/api/v1/admin/dead-letters',
    ]) {
      expect({ path, params: doc.paths[path]?.get?.parameters?.map((p) => p.name) }).toEqual({
        path,
        params: expect.arrayContaining(['cursor', 'limit', 'page']),
      });
    }
  });
});
