import { randomUUID } from 'node:crypto';
import { ReservationsService } from '../../src/modules/inventory/reservations.service';
import { createOrderIds, ledgerSumsOf, levelsOf } from '../factories/inventory.factory';
import { createProduct } from '../factories/product.factory';
import { eventually } from '../support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { startTestApp, TestApp } from '../support/test-app';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('Inventory', () => {
  let sut: TestApp;
  let admin: Record<string, string>;
  let customer: Record<string, string>;

  beforeAll(async () => {
    sut = await startTestApp();
    admin = bearer(await sut.tokenFor({ id: randomUUID(), email: 'admin@example.com', role: 'admin' }));
    customer = bearer(await sut.tokenFor({ id: randomUUID(), email: 'c@example.com', role: 'customer' }));
  });
  afterAll(() => sut.close());

  describe('GET /inventory', () => {
    it('is for admins only', async () => {
      await sut.http().get('/api/v1/inventory').expect(401);
      await sut.http().get('/api/v1/inventory').set(customer).expect(403);
    });

    it('lists stock levels with pagination, lowest availability first', async () => {
      await createProduct(sut.dataSource, { stock: 0 });
      const res = await sut.http().get('/api/v1/inventory?limit=5').set(admin).expect(200);

      expect(res.body.meta).toMatchObject({ page: 1, limit: 5 });
      expect(res.body.data.length).toBeGreaterThan(0);
      const available = res.body.data.map((i: { availableQuantity: number }) => i.availableQuantity);
      expect(available).toEqual([...available].sort((a, b) => a - b));
      expect(res.body.data[0]).toEqual(
        expect.objectContaining({
          productId: expect.any(String),
          sku: expect.any(String),
          quantity: expect.any(Number),
          reservedQuantity: expect.any(Number),
          lowStockThreshold: expect.any(Number),
        }),
      );
    });

    it('lowStock=true keeps only items at or below their threshold', async () => {
      await createProduct(sut.dataSource, { stock: 2, lowStockThreshold: 5 });
      const all = await sut.http().get('/api/v1/inventory?limit=100').set(admin).expect(200);
      const low = await sut.http().get('/api/v1/inventory?lowStock=true&limit=100').set(admin).expect(200);

      expect(low.body.data.length).toBeGreaterThan(0);
      expect(
        low.body.data.every(
          (i: { availableQuantity: number; lowStockThreshold: number; lowStock: boolean }) =>
            i.lowStock && i.availableQuantity <= i.lowStockThreshold,
        ),
      ).toBe(true);
      expect(low.body.meta.total).toBeLessThanOrEqual(all.body.meta.total);
    });

    it.each([['lowStock=maybe'], ['limit=101'], ['page=-1'], ['sort=sku']])(
      'answers 400 for ?%s',
      async (q) => {
        await sut.http().get(`/api/v1/inventory?${q}`).set(admin).expect(400);
      },
    );
  });

  describe('GET /inventory/:productId', () => {
    it('answers the levels to anyone', async () => {
      const product = await createProduct(sut.dataSource, { stock: 8 });
      const [orderId] = await createOrderIds(sut.dataSource);
      await sut
        .get(ReservationsService)
        .reserve(null, { orderId, lines: [{ productId: product.id, quantity: 3 }] });

      const res = await sut.http().get(`/api/v1/inventory/${product.id}`).expect(200);

      expect(res.body).toEqual({
        productId: product.id,
        quantity: 8,
        reservedQuantity: 3,
        availableQuantity: 5,
      });
    });

    it('answers 400 for a malformed id and 404 for unknown or deleted products', async () => {
      const deleted = await createProduct(sut.dataSource, { deleted: true });
      await sut.http().get('/api/v1/inventory/123').expect(400);
      await sut.http().get(`/api/v1/inventory/${randomUUID()}`).expect(404);
      await sut.http().get(`/api/v1/inventory/${deleted.id}`).expect(404);
    });
  });

  describe('POST /inventory/:productId/replenish', () => {
    it('is for admins only', async () => {
      const product = await createProduct(sut.dataSource);
      await sut.http().post(`/api/v1/inventory/${product.id}/replenish`).send({ quantity: 1 }).expect(401);
      await sut
        .http()
        .post(`/api/v1/inventory/${product.id}/replenish`)
        .set(customer)
        .send({ quantity: 1 })
        .expect(403);
    });

    it('adds stock, answers the new levels and records who did it', async () => {
      const product = await createProduct(sut.dataSource, { stock: 2 });

      const res = await sut
        .http()
        .post(`/api/v1/inventory/${product.id}/replenish`)
        .set(admin)
        .send({ quantity: 10, reason: 'delivery' })
        .expect(200);

      expect(res.body).toEqual({
        productId: product.id,
        quantity: 12,
        reservedQuantity: 0,
        availableQuantity: 12,
      });
      expect(await ledgerSumsOf(sut.dataSource, product.id)).toEqual(
        await levelsOf(sut.dataSource, product.id),
      );
    });

    it.each([
      [{}],
      [{ quantity: 0 }],
      [{ quantity: -5 }],
      [{ quantity: 1.5 }],
      [{ quantity: '5' }],
      [{ quantity: 5, extra: 1 }],
    ])('answers 400 for %p', async (body) => {
      const product = await createProduct(sut.dataSource);
      await sut.http().post(`/api/v1/inventory/${product.id}/replenish`).set(admin).send(body).expect(400);
    });

    it('answers 409 and changes nothing when the stock would pass the largest storable level', async () => {
      // Found by an attacker: replenishing past 2,147,483,647 (a 32-bit column) was a 500.
      const product = await createProduct(sut.dataSource, { stock: 2_147_483_000 });
      const res = await sut
        .http()
        .post(`/api/v1/inventory/${product.id}/replenish`)
        .set(admin)
        .send({ quantity: 1000 })
        .expect(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        code: 'VALUE_OUT_OF_RANGE',
        detail: expect.stringMatching(/2,147,483,647/),
      });
      expect(await levelsOf(sut.dataSource, product.id)).toMatchObject({ quantity: 2_147_483_000 });
    });

    it('answers 404 for an unknown product and 400 for a malformed id', async () => {
      await sut
        .http()
        .post(`/api/v1/inventory/${randomUUID()}/replenish`)
        .set(admin)
        .send({ quantity: 1 })
        .expect(404);
      await sut.http().post('/api/v1/inventory/x/replenish').set(admin).send({ quantity: 1 }).expect(400);
    });
  });

  describe('GET /inventory/:productId/movements', () => {
    it('is for admins only', async () => {
      const product = await createProduct(sut.dataSource);
      await sut.http().get(`/api/v1/inventory/${product.id}/movements`).expect(401);
      await sut.http().get(`/api/v1/inventory/${product.id}/movements`).set(customer).expect(403);
    });

    it('pages through the ledger, newest first', async () => {
      const product = await createProduct(sut.dataSource, { stock: 5 });
      await sut
        .http()
        .post(`/api/v1/inventory/${product.id}/replenish`)
        .set(admin)
        .send({ quantity: 3 })
        .expect(200);

      const first = await sut
        .http()
        .get(`/api/v1/inventory/${product.id}/movements?limit=1`)
        .set(admin)
        .expect(200);
      const second = await sut
        .http()
        .get(`/api/v1/inventory/${product.id}/movements?limit=1&page=2`)
        .set(admin)
        .expect(200);

      expect(first.body.meta).toEqual({ page: 1, limit: 1, total: 2, totalPages: 2 });
      expect(first.body.data[0]).toMatchObject({ type: 'REPLENISH', quantityDelta: 3, reservedDelta: 0 });
      expect(first.body.data[0].actor).toMatch(/^user:/);
      expect(second.body.data[0]).toMatchObject({ type: 'REPLENISH', quantityDelta: 5, actor: 'factory' });
    });

    it('answers 404 for an unknown product and 400 for bad paging', async () => {
      await sut.http().get(`/api/v1/inventory/${randomUUID()}/movements`).set(admin).expect(404);
      const product = await createProduct(sut.dataSource);
      await sut.http().get(`/api/v1/inventory/${product.id}/movements?limit=1000`).set(admin).expect(400);
    });
  });
});

describe('Reservation expiry in the worker role', () => {
  let sut: TestApp;
  let database: { url: string; drop: () => Promise<void> };

  beforeAll(async () => {
    // A database of its own: no other worker of the run can expire this reservation, so the count is exact.
    database = await createIsolatedDatabase();
    sut = await startTestApp({
      DATABASE_URL: database.url,
      QUEUE_PREFIX: isolatedQueuePrefix('expiry'),
      ROLE: 'all',
      RESERVATION_EXPIRY_INTERVAL_MS: '100',
    });
  });
  afterAll(async () => {
    await sut.close();
    await database.drop();
  });

  it('the scheduler releases reservations whose TTL has passed and counts them', async () => {
    const product = await createProduct(sut.dataSource, { stock: 4 });
    const [orderId] = await createOrderIds(sut.dataSource);
    await sut
      .get(ReservationsService)
      .reserve(null, { orderId, lines: [{ productId: product.id, quantity: 4 }], ttlSeconds: 0 });

    await eventually(async () => (await levelsOf(sut.dataSource, product.id)).reservedQuantity === 0, {
      intervalMs: 50,
      what: 'the reservation to expire',
    });

    const [row] = await sut.dataSource.query(
      `SELECT status FROM inventory_reservations WHERE order_id = $1`,
      [orderId],
    );
    expect(row.status).toBe('EXPIRED');
    expect(await ledgerSumsOf(sut.dataSource, product.id)).toEqual({ quantity: 4, reservedQuantity: 0 });
    const metrics = await sut.http().get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^aop_reservations_expired_total 1$/m);
  });
});
