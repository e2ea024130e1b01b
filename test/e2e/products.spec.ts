import { ProductsService } from '../../src/modules/products/products.service';
import { randomBytes, randomUUID } from 'node:crypto';
import { ledgerSumsOf, levelsOf } from '../factories/inventory.factory';
import { buildProductInput, createProduct } from '../factories/product.factory';
import { startTestApp, TestApp } from '../support/test-app';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** A word no other test uses, so list and search assertions see only this test's rows. */
const token = (): string => `zq${randomBytes(5).toString('hex')}`;

describe('Products', () => {
  let sut: TestApp;
  let admin: Record<string, string>;
  let customer: Record<string, string>;

  beforeAll(async () => {
    sut = await startTestApp();
    admin = bearer(await sut.tokenFor({ id: randomUUID(), email: 'admin@example.com', role: 'admin' }));
    customer = bearer(await sut.tokenFor({ id: randomUUID(), email: 'c@example.com', role: 'customer' }));
  });
  afterAll(() => sut.close());

  describe('GET /products', () => {
    it('lists active products with pagination meta, leaving out inactive and deleted ones', async () => {
      const word = token();
      await createProduct(sut.dataSource, { name: `Lamp ${word} one` });
      await createProduct(sut.dataSource, { name: `Lamp ${word} two` });
      await createProduct(sut.dataSource, { name: `Lamp ${word} three` });
      await createProduct(sut.dataSource, { name: `Lamp ${word} off`, isActive: false });
      await createProduct(sut.dataSource, { name: `Lamp ${word} gone`, deleted: true });

      const res = await sut.http().get(`/api/v1/products?search=${word}&limit=2&page=2`).expect(200);

      expect(res.body.meta).toEqual({ page: 2, limit: 2, total: 3, totalPages: 2, nextCursor: null });
      expect(res.body.data).toHaveLength(1);
      expect(res.body.data[0]).toEqual(
        expect.objectContaining({ id: expect.any(String), price: '10.00', currency: 'USD', isActive: true }),
      );
    });

    it('refuses a NUL character in a query with 400 before it reaches PostgreSQL (found by fuzzing)', async () => {
      const res = await sut.http().get('/api/v1/products?search=lamp%00').expect(400);
      expect(res.body).toMatchObject({ status: 400, errors: [{ field: 'search' }] });
      await sut.http().get('/api/v1/products/search?q=%00').expect(400);
    });

    it('searches the description too, case-insensitively, with % and _ taken literally', async () => {
      const word = token();
      const product = await createProduct(sut.dataSource, {
        description: `Has ${word.toUpperCase()} inside`,
      });

      const found = await sut.http().get(`/api/v1/products?search=${word}`).expect(200);
      const literal = await sut.http().get(`/api/v1/products?search=${word}%25`).expect(200);

      expect(found.body.data.map((p: { id: string }) => p.id)).toEqual([product.id]);
      expect(literal.body.meta.total).toBe(0);
    });

    it('filters by price range and sorts by a whitelisted field', async () => {
      const word = token();
      for (const price of ['5.00', '15.50', '25.00', '99.99']) {
        await createProduct(sut.dataSource, { name: `Mug ${word} ${price}`, price });
      }

      const res = await sut
        .http()
        .get(`/api/v1/products?search=${word}&minPrice=10&maxPrice=99.99&sortBy=price&sortOrder=desc`)
        .expect(200);

      expect(res.body.data.map((p: { price: string }) => p.price)).toEqual(['99.99', '25.00', '15.50']);
      const byName = await sut.http().get(`/api/v1/products?search=${word}&sortBy=name`).expect(200);
      expect(byName.body.data.map((p: { price: string }) => p.price)).toEqual([
        '15.50',
        '25.00',
        '5.00',
        '99.99',
      ]);
    });

    it.each([
      ['limit=101', 'limit'],
      ['limit=0', 'limit'],
      ['page=0', 'page'],
      ['page=abc', 'page'],
      ['minPrice=-1', 'minPrice'],
      ['maxPrice=1.234', 'maxPrice'],
      ['minPrice=20&maxPrice=10', 'minPrice'],
      ['sortBy=sku', 'sortBy'],
      ['sortBy=price;drop', 'sortBy'],
      ['sortOrder=sideways', 'sortOrder'],
      ['color=red', 'color'],
    ])('answers 400 for %s', async (query, field) => {
      const res = await sut.http().get(`/api/v1/products?${query}`).expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });
  });

  describe('GET /products/search', () => {
    it('finds words with full-text search, ranking name matches above description matches', async () => {
      const word = token();
      const inDescription = await createProduct(sut.dataSource, {
        name: `Plain ${token()}`,
        description: `Works with ${word} cables`,
      });
      const inName = await createProduct(sut.dataSource, { name: `${word} adapter` });

      const res = await sut.http().get(`/api/v1/products/search?q=${word}`).expect(200);

      expect(res.body.meta).toMatchObject({ total: 2, match: 'fulltext' });
      expect(res.body.data.map((p: { id: string }) => p.id)).toEqual([inName.id, inDescription.id]);
    });

    it('understands stemming and web-search syntax', async () => {
      const word = token();
      const product = await createProduct(sut.dataSource, { name: `Running shoes ${word}` });
      await createProduct(sut.dataSource, { name: `Running socks ${word}` });

      const res = await sut
        .http()
        .get(`/api/v1/products/search`)
        .query({ q: `run ${word} -socks` })
        .expect(200);

      expect(res.body.data.map((p: { id: string }) => p.id)).toEqual([product.id]);
    });

    it('matches short terms and words full-text search cannot find as name prefixes', async () => {
      const word = token();
      const product = await createProduct(sut.dataSource, { name: `${word}xyz gadget` });

      const res = await sut.http().get(`/api/v1/products/search?q=${word}`).expect(200);
      const short = await sut
        .http()
        .get(`/api/v1/products/search?q=${word.slice(0, 2)}&limit=100`)
        .expect(200);

      expect(res.body.meta.match).toBe('prefix');
      expect(res.body.data.map((p: { id: string }) => p.id)).toEqual([product.id]);
      expect(short.body.meta.match).toBe('prefix');
    });

    it.each([[''], ['q='], ['q=%20%20'], [`q=${'a'.repeat(201)}`], ['q=ok&limit=500']])(
      'answers 400 for ?%s',
      async (query) => {
        await sut.http().get(`/api/v1/products/search?${query}`).expect(400);
      },
    );
  });

  describe('GET /products/:id', () => {
    it('answers the product, 400 for a malformed id and 404 for unknown or deleted ones', async () => {
      const product = await createProduct(sut.dataSource, { price: '12.30' });
      const deleted = await createProduct(sut.dataSource, { deleted: true });

      const res = await sut.http().get(`/api/v1/products/${product.id}`).expect(200);
      expect(res.body).toMatchObject({ id: product.id, sku: product.sku, price: '12.30' });
      await sut.http().get('/api/v1/products/not-a-uuid').expect(400);
      await sut.http().get(`/api/v1/products/${randomUUID()}`).expect(404);
      await sut.http().get(`/api/v1/products/${deleted.id}`).expect(404);
    });

    it('shows inactive products to admins only', async () => {
      const product = await createProduct(sut.dataSource, { isActive: false });
      await sut.http().get(`/api/v1/products/${product.id}`).expect(404);
      await sut.http().get(`/api/v1/products/${product.id}`).set(customer).expect(404);
      await sut.http().get(`/api/v1/products/${product.id}`).set(admin).expect(200);
    });
  });

  describe('POST /products', () => {
    it('is for admins only', async () => {
      await sut.http().post('/api/v1/products').send(buildProductInput()).expect(401);
      await sut.http().post('/api/v1/products').set(customer).send(buildProductInput()).expect(403);
    });

    it('creates the product with its stock record at 0', async () => {
      const res = await sut
        .http()
        .post('/api/v1/products')
        .set(admin)
        .send(buildProductInput({ price: 12.5 }))
        .expect(201);

      expect(res.body).toMatchObject({ price: '12.50', currency: 'USD', isActive: true });
      expect(await levelsOf(sut.dataSource, res.body.id)).toEqual({ quantity: 0, reservedQuantity: 0 });
    });

    it('records initial stock as a REPLENISH in the ledger', async () => {
      const res = await sut
        .http()
        .post('/api/v1/products')
        .set(admin)
        .send(buildProductInput({ initialStock: 7, lowStockThreshold: 2 }))
        .expect(201);

      expect(await levelsOf(sut.dataSource, res.body.id)).toEqual({ quantity: 7, reservedQuantity: 0 });
      expect(await ledgerSumsOf(sut.dataSource, res.body.id)).toEqual({ quantity: 7, reservedQuantity: 0 });
    });

    it('answers 409 for a SKU that exists, creating nothing', async () => {
      const existing = await createProduct(sut.dataSource);
      const res = await sut
        .http()
        .post('/api/v1/products')
        .set(admin)
        .send(buildProductInput({ sku: existing.sku }))
        .expect(409);
      expect(res.body.code).toBe('SKU_TAKEN');
    });

    it.each([
      [{ price: 0 }, 'price'],
      [{ price: '-3.00' }, 'price'],
      [{ price: '1.999' }, 'price'],
      [{ price: 0.1 + 0.2 }, 'price'],
      [{ price: 'free' }, 'price'],
      [{ price: undefined }, 'price'],
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(201) }, 'name'],
      [{ sku: 'has space' }, 'sku'],
      [{ currency: 'dollars' }, 'currency'],
      [{ isActive: 'yes' }, 'isActive'],
      [{ initialStock: -1 }, 'initialStock'],
      [{ initialStock: 1.5 }, 'initialStock'],
      [{ owner: 'me' }, 'owner'],
    ])('answers 400 for %p', async (override, field) => {
      const res = await sut
        .http()
        .post('/api/v1/products')
        .set(admin)
        .send(buildProductInput(override))
        .expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });
  });

  describe('PUT and PATCH /products/:id', () => {
    it('are for admins only', async () => {
      const product = await createProduct(sut.dataSource);
      await sut.http().patch(`/api/v1/products/${product.id}`).send({ name: 'x' }).expect(401);
      await sut.http().patch(`/api/v1/products/${product.id}`).set(customer).send({ name: 'x' }).expect(403);
      await sut.http().put(`/api/v1/products/${product.id}`).send(buildProductInput()).expect(401);
      await sut
        .http()
        .put(`/api/v1/products/${product.id}`)
        .set(customer)
        .send(buildProductInput())
        .expect(403);
    });

    it('PUT replaces every field', async () => {
      const product = await createProduct(sut.dataSource, { category: 'old' });
      const body = buildProductInput({ category: undefined, price: '42.00' });

      const res = await sut.http().put(`/api/v1/products/${product.id}`).set(admin).send(body).expect(200);

      expect(res.body).toMatchObject({ id: product.id, sku: body.sku, price: '42.00', category: null });
    });

    it('PATCH changes only what it sends', async () => {
      const product = await createProduct(sut.dataSource, { price: '10.00' });
      const res = await sut
        .http()
        .patch(`/api/v1/products/${product.id}`)
        .set(admin)
        .send({ description: 'better words' })
        .expect(200);
      expect(res.body).toMatchObject({ sku: product.sku, price: '10.00', description: 'better words' });
    });

    it('no reader sees the old price once the write has returned (product and listing caches)', async () => {
      const product = await createProduct(sut.dataSource, { price: '10.00' });
      const listed = async () => {
        const res = await sut.http().get('/api/v1/products?page=1&limit=100').expect(200);
        return res.body.data.find((p: { id: string }) => p.id === product.id)?.price;
      };
      await sut.http().get(`/api/v1/products/${product.id}`).expect(200);
      await sut.http().get(`/api/v1/products/${product.id}`).expect(200);
      expect(await listed()).toBe('10.00');

      await sut
        .http()
        .patch(`/api/v1/products/${product.id}`)
        .set(admin)
        .send({ price: '11.00' })
        .expect(200);

      const res = await sut.http().get(`/api/v1/products/${product.id}`).expect(200);
      expect(res.body.price).toBe('11.00');
      expect(await listed()).toBe('11.00');
      const metrics = await sut.http().get('/metrics').expect(200);
      expect(metrics.text).toMatch(/aop_cache_requests_total\{cache="product",result="hit"\} [1-9]/);
    });

    it('answer 404 for unknown or deleted products, 409 for a taken SKU, 400 for bad fields', async () => {
      const product = await createProduct(sut.dataSource);
      const other = await createProduct(sut.dataSource);
      const deleted = await createProduct(sut.dataSource, { deleted: true });

      await sut.http().patch(`/api/v1/products/${randomUUID()}`).set(admin).send({ name: 'x' }).expect(404);
      await sut.http().patch(`/api/v1/products/${deleted.id}`).set(admin).send({ name: 'x' }).expect(404);
      await sut
        .http()
        .put(`/api/v1/products/${randomUUID()}`)
        .set(admin)
        .send(buildProductInput())
        .expect(404);
      await sut
        .http()
        .patch(`/api/v1/products/${product.id}`)
        .set(admin)
        .send({ sku: other.sku })
        .expect(409);
      await sut
        .http()
        .put(`/api/v1/products/${product.id}`)
        .set(admin)
        .send(buildProductInput({ sku: other.sku }))
        .expect(409);
      await sut
        .http()
        .patch(`/api/v1/products/${product.id}`)
        .set(admin)
        .send({ price: '0.001' })
        .expect(400);
      await sut.http().patch(`/api/v1/products/${product.id}`).set(admin).send({ name: null }).expect(400);
      await sut.http().patch(`/api/v1/products/${product.id}`).set(admin).send({}).expect(400);
      await sut
        .http()
        .put(`/api/v1/products/${product.id}`)
        .set(admin)
        .send({ name: 'only a name' })
        .expect(400);
      await sut.http().patch('/api/v1/products/nope').set(admin).send({ name: 'x' }).expect(400);
    });
  });

  describe('DELETE /products/:id', () => {
    it('soft-deletes for admins: the row stays, readers get 404', async () => {
      const product = await createProduct(sut.dataSource);
      await sut.http().get(`/api/v1/products/${product.id}`).expect(200);
      await sut.http().delete(`/api/v1/products/${product.id}`).expect(401);
      await sut.http().delete(`/api/v1/products/${product.id}`).set(customer).expect(403);

      await sut.http().delete(`/api/v1/products/${product.id}`).set(admin).expect(204);

      await sut.http().get(`/api/v1/products/${product.id}`).expect(404);
      await sut.http().delete(`/api/v1/products/${product.id}`).set(admin).expect(404);
      const [row] = await sut.dataSource.query(`SELECT deleted_at FROM products WHERE id = $1`, [product.id]);
      expect(row.deleted_at).toBeInstanceOf(Date);
    });
  });
});

describe('Products with Redis unreachable', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', STARTUP_CONNECT_TIMEOUT_MS: '200' });
  });
  afterAll(() => sut.close());

  it('the cache fails open: reads and writes are served by the database', async () => {
    const admin = bearer(await sut.tokenFor({ id: randomUUID(), email: 'admin@example.com', role: 'admin' }));
    const product = await createProduct(sut.dataSource, { price: '3.00' });

    await sut.http().get(`/api/v1/products/${product.id}`).expect(200);
    await sut.http().get('/api/v1/products').expect(200);
    // Admin routes fail closed while token revocations cannot be received (Redis is the channel)...
    await sut.http().patch(`/api/v1/products/${product.id}`).set(admin).send({ price: '4.00' }).expect(503);
    // ...so the write path's cache invalidation is driven through the service: it must still succeed.
    await sut.get(ProductsService).patch(product.id, { price: '4.00' });

    const res = await sut.http().get(`/api/v1/products/${product.id}`).expect(200);
    expect(res.body.price).toBe('4.00');
    const metrics = await sut.http().get('/metrics').expect(200);
    expect(metrics.text).toMatch(/aop_cache_requests_total\{cache="product",result="error"\} [1-9]/);
  });
});
