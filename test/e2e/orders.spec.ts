import { randomUUID } from 'node:crypto';
import { SUPPORTED_CURRENCIES, toUsdCents } from '../../src/platform/currencies';
import { startTestApp, TestApp } from '../support/test-app';

interface Customer {
  id: string;
  token: string;
}

describe('Orders API', () => {
  let sut: TestApp;
  let alice: Customer & { email: string };
  let bob: Customer & { email: string };
  let admin: Customer;
  let keyboard: string;
  let mouse: string;
  let retired: string;

  async function createUser(role: 'customer' | 'admin' = 'customer'): Promise<Customer & { email: string }> {
    const email = `${role}-${randomUUID()}@example.com`;
    const [{ id }] = await sut.dataSource.query(
      `INSERT INTO users (email, password_hash, first_name, last_name, role) VALUES ($1, 'x', 'Test', 'User', $2) RETURNING id`,
      [email, role],
    );
    return { id, email, token: await sut.tokenFor({ id, email, role }) };
  }

  async function createProduct(price: string, active = true): Promise<string> {
    const [{ id }] = await sut.dataSource.query(
      `INSERT INTO products (sku, name, price, is_active) VALUES ($1, 'Product', $2, $3) RETURNING id`,
      [`SKU-${randomUUID()}`, price, active],
    );
    await sut.dataSource.query('INSERT INTO inventory (product_id, quantity) VALUES ($1, 100)', [id]);
    return id;
  }

  function post(user: Customer, body: unknown, key?: string) {
    const req = sut.http().post('/api/v1/orders').set('authorization', `Bearer ${user.token}`);
    return key === undefined
      ? req.send(body as object)
      : req.set('idempotency-key', key).send(body as object);
  }

  beforeAll(async () => {
    sut = await startTestApp();
    [alice, bob, admin] = await Promise.all([createUser(), createUser(), createUser('admin')]);
    [keyboard, mouse, retired] = await Promise.all([
      createProduct('89.90'),
      createProduct('34.50'),
      createProduct('10.00', false),
    ]);
  });
  afterAll(() => sut.close());

  describe('POST /orders', () => {
    it('answers 202 with the priced order and a Location, and writes order, lines, history and outbox event at once', async () => {
      const res = await post(alice, {
        items: [
          { productId: keyboard, quantity: 2 },
          { productId: mouse, quantity: 1 },
        ],
      }).expect(202);

      expect(res.body).toEqual({
        id: expect.any(String),
        status: 'PENDING',
        totalAmount: '214.30',
        currency: 'USD',
        paymentMethod: 'credit_card',
        items: [
          expect.objectContaining({
            productId: keyboard,
            quantity: 2,
            unitPrice: '89.90',
            lineTotal: '179.80',
          }),
          expect.objectContaining({ productId: mouse, quantity: 1, unitPrice: '34.50', lineTotal: '34.50' }),
        ],
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      expect(res.headers.location).toBe(`/api/v1/orders/${res.body.id}`);

      const [order] = await sut.dataSource.query(
        'SELECT status, total_amount::text, user_id FROM orders WHERE id = $1',
        [res.body.id],
      );
      expect(order).toEqual({ status: 'PENDING', total_amount: '214.30', user_id: alice.id });
      const events = await sut.dataSource.query(
        `SELECT event_type, payload, correlation_id FROM outbox_events WHERE aggregate_id = $1`,
        [res.body.id],
      );
      expect(events).toEqual([
        {
          event_type: 'OrderCreated',
          payload: { orderId: res.body.id, userId: alice.id },
          correlation_id: res.headers['x-correlation-id'],
        },
      ]);
      const history = await sut.dataSource.query(
        'SELECT from_status, to_status FROM order_status_history WHERE order_id = $1',
        [res.body.id],
      );
      expect(history).toEqual([{ from_status: null, to_status: 'PENDING' }]);
    });

    it('prices in the requested currency with exact decimals', async () => {
      const res = await post(alice, {
        items: [{ productId: keyboard, quantity: 3 }],
        currency: 'EUR',
        paymentMethod: 'bank_transfer',
      }).expect(202);
      // 89.90 USD / 1.08 = 83.2407... → 83.24 per unit; 3 × 83.24 = 249.72 (no float drift)
      expect(res.body).toMatchObject({
        currency: 'EUR',
        paymentMethod: 'bank_transfer',
        totalAmount: '249.72',
        items: [{ unitPrice: '83.24', lineTotal: '249.72' }],
      });
    });

    it('an order in any currency is worth its catalogue price in USD on the gateway’s path too (one rate table)', async () => {
      for (const currency of SUPPORTED_CURRENCIES) {
        const res = await post(alice, { items: [{ productId: keyboard, quantity: 1 }], currency }).expect(
          202,
        );
        // The gateway converts the charged total back to USD (its fraud limit); with the same rates the round
        // trip loses at most the rounding of the line to cents: under one US cent for rates up to 2.
        const usdCents = Number(toUsdCents(res.body.totalAmount, currency));
        expect({ currency, withinACent: Math.abs(usdCents - 8990) <= 1 }).toEqual({
          currency,
          withinACent: true,
        });
      }
    });

    it('names unknown and inactive products with 422 and creates nothing', async () => {
      const ghost = randomUUID();
      const before = await sut.dataSource.query('SELECT count(*)::int AS n FROM orders WHERE user_id = $1', [
        bob.id,
      ]);
      const res = await post(bob, {
        items: [
          { productId: keyboard, quantity: 1 },
          { productId: ghost, quantity: 1 },
          { productId: retired, quantity: 1 },
        ],
      }).expect(422);

      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('UNKNOWN_PRODUCTS');
      expect(res.body.detail).toContain(ghost);
      expect(res.body.detail).toContain(retired);
      const after = await sut.dataSource.query('SELECT count(*)::int AS n FROM orders WHERE user_id = $1', [
        bob.id,
      ]);
      expect(after).toEqual(before);
    });

    it.each([
      ['no items', { items: [] }, 'items'],
      [
        'too many items',
        { items: Array.from({ length: 51 }, () => ({ productId: randomUUID(), quantity: 1 })) },
        'items',
      ],
      [
        'a duplicated product',
        {
          items: [
            { productId: '9b2f6c1e-3d4a-4a8b-9c1d-2e3f4a5b6c7d', quantity: 1 },
            { productId: '9b2f6c1e-3d4a-4a8b-9c1d-2e3f4a5b6c7d', quantity: 2 },
          ],
        },
        'items',
      ],
      ['quantity 0', { items: [{ productId: randomUUID(), quantity: 0 }] }, 'items.0.quantity'],
      ['quantity 1001', { items: [{ productId: randomUUID(), quantity: 1001 }] }, 'items.0.quantity'],
      ['a fractional quantity', { items: [{ productId: randomUUID(), quantity: 1.5 }] }, 'items.0.quantity'],
      ['a quantity as a string', { items: [{ productId: randomUUID(), quantity: '2' }] }, 'items.0.quantity'],
      ['a malformed product id', { items: [{ productId: 'abc', quantity: 1 }] }, 'items.0.productId'],
      [
        'an unsupported currency',
        { items: [{ productId: randomUUID(), quantity: 1 }], currency: 'XXX' },
        'currency',
      ],
      [
        'an unknown payment method',
        { items: [{ productId: randomUUID(), quantity: 1 }], paymentMethod: 'cash' },
        'paymentMethod',
      ],
      [
        'a client-side price',
        { items: [{ productId: randomUUID(), quantity: 1, unitPrice: 0.01 }] },
        'items.0.unitPrice',
      ],
      [
        'a total from the client',
        { items: [{ productId: randomUUID(), quantity: 1 }], totalAmount: 1 },
        'totalAmount',
      ],
    ])('refuses %s with 400 naming the field', async (_name, body, field) => {
      const res = await post(alice, body).expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('refuses one product named twice in different letter cases with 400, also on a retry with the same key', async () => {
      // Found by an attacker: both lines reached the database, whose unique index answered with a 500.
      const carol = await createUser();
      const body = {
        items: [
          { productId: keyboard, quantity: 1 },
          { productId: keyboard.toUpperCase(), quantity: 2 },
        ],
      };
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await post(carol, body, 'mixed-case-duplicate').expect(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.errors).toEqual([
          { field: 'items', message: 'items must name each product only once' },
        ]);
      }
      const [{ count }] = await sut.dataSource.query<{ count: number }[]>(
        'SELECT count(*)::int AS count FROM orders WHERE user_id = $1',
        [carol.id],
      );
      expect(count).toBe(0);
      // An upper-case id on its own is the same product: accepted, and stored in its canonical spelling.
      const upper = await post(carol, { items: [{ productId: keyboard.toUpperCase(), quantity: 1 }] }).expect(
        202,
      );
      expect(upper.body.items[0].productId).toBe(keyboard);
    });

    it('refuses 10,000 lines without validating each one', async () => {
      // Found by fuzzing: every line was validated (about a second of CPU) and 19,001 errors were answered.
      const items = Array.from({ length: 10_000 }, (_, i) => ({ productId: `${i}`, quantity: i }));
      const res = await post(alice, { items }).expect(400);
      expect(res.body.errors).toContainEqual({
        field: 'items',
        message: 'items must contain no more than 50 elements',
      });
      expect(res.body.errors.length).toBeLessThan(200);
    });

    it('refuses an Idempotency-Key longer than 255 characters', async () => {
      await post(alice, { items: [{ productId: keyboard, quantity: 1 }] }, 'k'.repeat(256)).expect(400);
    });

    it('requires authentication', async () => {
      await sut
        .http()
        .post('/api/v1/orders')
        .send({ items: [{ productId: keyboard, quantity: 1 }] })
        .expect(401);
    });
  });

  describe('idempotency', () => {
    it('replays the first response for the same key and body, with Idempotent-Replayed', async () => {
      const key = randomUUID();
      const body = {
        items: [
          { productId: mouse, quantity: 2 },
          { productId: keyboard, quantity: 1 },
        ],
      };
      const first = await post(alice, body, key).expect(202);
      // Same request with the lines in another order: the same request.
      const second = await post(alice, { items: [...body.items].reverse() }, key).expect(202);

      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(second.body).toEqual(first.body);
      expect(second.headers.location).toBe(first.headers.location);
      const orders = await sut.dataSource.query(
        'SELECT id FROM orders WHERE user_id = $1 AND idempotency_key = $2',
        [alice.id, key],
      );
      expect(orders).toEqual([{ id: first.body.id }]);
    });

    it('refuses the same key with a different body with 422', async () => {
      const key = randomUUID();
      await post(alice, { items: [{ productId: mouse, quantity: 1 }] }, key).expect(202);
      const res = await post(alice, { items: [{ productId: mouse, quantity: 2 }] }, key).expect(422);
      expect(res.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('scopes keys to the user: the same key from another user is another order', async () => {
      const key = randomUUID();
      const body = { items: [{ productId: mouse, quantity: 1 }] };
      const a = await post(alice, body, key).expect(202);
      const b = await post(bob, body, key).expect(202);
      expect(b.body.id).not.toBe(a.body.id);
      expect(b.headers['idempotent-replayed']).toBeUndefined();
    });

    it('creates exactly one order when 20 identical requests race', async () => {
      const key = randomUUID();
      const body = { items: [{ productId: keyboard, quantity: 1 }] };
      const responses = await Promise.all(Array.from({ length: 20 }, () => post(alice, body, key)));

      const statuses = responses.map((r) => r.status);
      expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
      const ids = new Set(responses.filter((r) => r.status === 202).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      expect(responses.filter((r) => r.status === 202 && !r.headers['idempotent-replayed'])).toHaveLength(1);
      const orders = await sut.dataSource.query(
        'SELECT count(*)::int AS n FROM orders WHERE user_id = $1 AND idempotency_key = $2',
        [alice.id, key],
      );
      expect(orders).toEqual([{ n: 1 }]);
    });

    it('without a key, each request is a new order', async () => {
      const body = { items: [{ productId: mouse, quantity: 1 }] };
      const [a, b] = await Promise.all([post(bob, body).expect(202), post(bob, body).expect(202)]);
      expect(a.body.id).not.toBe(b.body.id);
    });
  });

  describe('reading orders', () => {
    let aliceOrder: string;

    beforeAll(async () => {
      aliceOrder = (await post(alice, { items: [{ productId: keyboard, quantity: 1 }] }).expect(202)).body.id;
    });

    it('GET /orders/:id shows the owner the order with its lines', async () => {
      const res = await sut
        .http()
        .get(`/api/v1/orders/${aliceOrder}`)
        .set('authorization', `Bearer ${alice.token}`)
        .expect(200);
      expect(res.body).toMatchObject({
        id: aliceOrder,
        userId: alice.id,
        status: 'PENDING',
        totalAmount: '89.90',
        items: [{ productId: keyboard, quantity: 1 }],
      });
    });

    it('hides another user’s order behind a 404, on every order route', async () => {
      for (const path of [
        `/api/v1/orders/${aliceOrder}`,
        `/api/v1/orders/${aliceOrder}/status`,
        `/api/v1/orders/${aliceOrder}/events`,
        `/api/v1/orders/${aliceOrder}/history`,
      ]) {
        const res = await sut.http().get(path).set('authorization', `Bearer ${bob.token}`).expect(404);
        expect(res.body.detail).toContain('was not found');
      }
    });

    it('lets an admin read any order', async () => {
      await sut
        .http()
        .get(`/api/v1/orders/${aliceOrder}`)
        .set('authorization', `Bearer ${admin.token}`)
        .expect(200);
    });

    it('answers 400 for a malformed id and 404 for an unknown one', async () => {
      await sut
        .http()
        .get('/api/v1/orders/not-a-uuid')
        .set('authorization', `Bearer ${alice.token}`)
        .expect(400);
      await sut
        .http()
        .get(`/api/v1/orders/${randomUUID()}`)
        .set('authorization', `Bearer ${alice.token}`)
        .expect(404);
    });

    it('GET /orders/:id/status gives the status', async () => {
      const res = await sut
        .http()
        .get(`/api/v1/orders/${aliceOrder}/status`)
        .set('authorization', `Bearer ${alice.token}`)
        .expect(200);
      expect(res.body).toEqual({ id: aliceOrder, status: 'PENDING', updatedAt: expect.any(String) });
    });

    it('GET /orders lists only the caller’s orders, newest first, paginated and filtered', async () => {
      const res = await sut
        .http()
        .get('/api/v1/orders?limit=2&page=1')
        .set('authorization', `Bearer ${alice.token}`)
        .expect(200);
      expect(res.body.data).toHaveLength(2);
      expect(res.body.data.every((o: { userId: string }) => o.userId === alice.id)).toBe(true);
      expect(new Date(res.body.data[0].createdAt) >= new Date(res.body.data[1].createdAt)).toBe(true);
      expect(res.body.meta).toMatchObject({ page: 1, limit: 2 });
      expect(res.body.meta.totalPages).toBe(Math.ceil(res.body.meta.total / 2));

      const none = await sut
        .http()
        .get('/api/v1/orders?status=DELIVERED')
        .set('authorization', `Bearer ${alice.token}`)
        .expect(200);
      expect(none.body).toEqual({ data: [], meta: { page: 1, limit: 20, total: 0, totalPages: 0 } });
      await sut
        .http()
        .get('/api/v1/orders?limit=101')
        .set('authorization', `Bearer ${alice.token}`)
        .expect(400);
      await sut
        .http()
        .get('/api/v1/orders?status=LOST')
        .set('authorization', `Bearer ${alice.token}`)
        .expect(400);
    });

    it('GET /orders searches an admin’s list by id, customer email, placed window and total', async () => {
      const bobOrder = (await post(bob, { items: [{ productId: mouse, quantity: 2 }] }).expect(202)).body.id;
      const search = async (query: Record<string, string>, token = admin.token) =>
        (
          await sut
            .http()
            .get('/api/v1/orders')
            .query({ limit: '100', ...query })
            .set('authorization', `Bearer ${token}`)
            .expect(200)
        ).body as { data: { id: string; userId: string; customerEmail: string; totalAmount: string }[] };

      expect((await search({ id: aliceOrder })).data.map((o) => o.id)).toEqual([aliceOrder]);
      const byEmail = await search({ email: bob.email.slice(0, 20).toUpperCase() });
      expect(byEmail.data.map((o) => o.id)).toContain(bobOrder);
      expect(byEmail.data.every((o) => o.customerEmail === bob.email)).toBe(true);
      // LIKE wildcards are taken literally.
      expect((await search({ email: '%' })).data).toEqual([]);
      const byAmount = await search({ email: bob.email, minAmount: '69', maxAmount: '69.00' });
      expect(byAmount.data.map((o) => o.totalAmount)).toEqual(['69.00']);
      expect(
        (await search({ email: bob.email, maxAmount: '68.99' })).data.map((o) => o.totalAmount),
      ).not.toContain('69.00');
      expect((await search({ email: bob.email, minAmount: '69.01' })).data).toEqual([]);
      const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      expect((await search({ id: bobOrder, from: hourAgo, to: inAnHour })).data).toHaveLength(1);
      expect((await search({ id: bobOrder, from: inAnHour })).data).toEqual([]);
      // A customer's list stays their own whatever the filter says.
      expect((await search({ email: bob.email }, alice.token)).data).toEqual([]);
      await sut
        .http()
        .get('/api/v1/orders?minAmount=ten')
        .set('authorization', `Bearer ${admin.token}`)
        .expect(400);
    });

    it('GET /orders/counts gives an admin the count of every status', async () => {
      const res = await sut
        .http()
        .get('/api/v1/orders/counts')
        .set('authorization', `Bearer ${admin.token}`)
        .expect(200);
      const counts = res.body.counts as Record<string, number>;
      expect(Object.keys(counts).sort()).toEqual([
        'CANCELLED',
        'CONFIRMED',
        'DELIVERED',
        'PAYMENT_FAILED',
        'PAYMENT_PENDING',
        'PENDING',
        'PROCESSING',
        'REFUNDED',
        'SHIPPED',
      ]);
      expect(counts.PENDING).toBeGreaterThanOrEqual(1);
      expect(res.body.total).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
      await sut.http().get('/api/v1/orders/counts').set('authorization', `Bearer ${alice.token}`).expect(403);
    });

    it('GET /orders/:id/history lists the status changes, oldest first', async () => {
      const res = await sut
        .http()
        .get(`/api/v1/orders/${aliceOrder}/history`)
        .set('authorization', `Bearer ${alice.token}`)
        .expect(200);
      expect(res.body).toEqual([
        {
          id: expect.any(String),
          from: null,
          status: 'PENDING',
          reason: expect.any(String),
          at: expect.any(String),
        },
      ]);
    });

    it('GET /orders/:id/payments and /notifications list the order’s rows to an admin only', async () => {
      await sut.dataSource.query(
        `INSERT INTO payments (order_id, kind, status, amount, currency, method, provider, idempotency_key)
         VALUES ($1, 'CHARGE', 'SUCCEEDED', 89.90, 'USD', 'credit_card', 'mock', $2)`,
        [aliceOrder, `charge:${aliceOrder}`],
      );
      await sut.dataSource.query(
        `INSERT INTO notifications (user_id, order_id, channel, template, status, recipient, dedupe_key)
         VALUES ($1, $2, 'email', 'order-confirmation', 'SENT', $3, $4)`,
        [alice.id, aliceOrder, alice.email, `confirmation:${aliceOrder}`],
      );
      const payments = await sut
        .http()
        .get(`/api/v1/orders/${aliceOrder}/payments`)
        .set('authorization', `Bearer ${admin.token}`)
        .expect(200);
      expect(payments.body).toMatchObject([
        { orderId: aliceOrder, kind: 'CHARGE', status: 'SUCCEEDED', amount: '89.90' },
      ]);
      const notifications = await sut
        .http()
        .get(`/api/v1/orders/${aliceOrder}/notifications`)
        .set('authorization', `Bearer ${admin.token}`)
        .expect(200);
      expect(notifications.body).toMatchObject([
        { template: 'order-confirmation', status: 'SENT', recipient: alice.email },
      ]);
      expect(notifications.body[0]).not.toHaveProperty('body');
      for (const path of ['payments', 'notifications']) {
        await sut
          .http()
          .get(`/api/v1/orders/${aliceOrder}/${path}`)
          .set('authorization', `Bearer ${alice.token}`)
          .expect(403);
      }
    });

    it('GET /orders shows an admin everyone’s orders', async () => {
      const res = await sut
        .http()
        .get('/api/v1/orders?limit=100')
        .set('authorization', `Bearer ${admin.token}`)
        .expect(200);
      const owners = new Set(res.body.data.map((o: { userId: string }) => o.userId));
      expect(owners.has(alice.id) && owners.has(bob.id)).toBe(true);
    });
  });
});

describe('Orders API while Redis is down', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', STARTUP_CONNECT_TIMEOUT_MS: '100' });
  });
  afterAll(() => sut.close());

  it('keeps accepting orders: the outbox holds them', async () => {
    const email = `redis-down-${randomUUID()}@example.com`;
    const [{ id: userId }] = await sut.dataSource.query(
      `INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, 'x', 'A', 'B') RETURNING id`,
      [email],
    );
    const [{ id: productId }] = await sut.dataSource.query(
      `INSERT INTO products (sku, name, price) VALUES ($1, 'P', 5) RETURNING id`,
      [`SKU-${randomUUID()}`],
    );
    const token = await sut.tokenFor({ id: userId, email, role: 'customer' });

    const res = await sut
      .http()
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${token}`)
      .set('idempotency-key', randomUUID())
      .send({ items: [{ productId, quantity: 1 }] })
      .expect(202);

    const [event] = await sut.dataSource.query(
      'SELECT event_type, processed_at FROM outbox_events WHERE aggregate_id = $1',
      [res.body.id],
    );
    expect(event).toEqual({ event_type: 'OrderCreated', processed_at: null });
  });
});
