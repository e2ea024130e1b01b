import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { INVARIANT_CHECKS } from '../../src/modules/invariants/invariant-checks';
import { InvariantsScheduler } from '../../src/modules/invariants/invariants.scheduler';
import { InvariantsService } from '../../src/modules/invariants/invariants.service';
import { createProduct } from '../factories/product.factory';
import { accessTokenFor, createUserWithToken } from '../factories/user.factory';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { eventually } from '../support/eventually';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { buildSettledOrders, SettledOrders } from '../support/settled-orders';
import { startTestApp, TestApp } from '../support/test-app';

const ROOT = resolve(__dirname, '../..');
const run = promisify(execFile);

/** `npm run check:invariants` as the operator runs it (the script itself, without npm's banner). */
async function checkInvariants(
  databaseUrl: string,
  args: string[] = [],
): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      ['-r', '@swc-node/register', 'scripts/check-invariants.ts', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: databaseUrl, INVARIANT_RECOVERY_WINDOW_SECONDS: '3600' },
      },
    );
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

describe('Invariant checker (GET /admin/invariants, npm run check:invariants)', () => {
  let sut: TestApp;
  let database: { url: string; drop: () => Promise<void> };
  let data: SettledOrders;
  let admin: string;
  let customer: string;

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    sut = await startTestApp({
      DATABASE_URL: database.url,
      QUEUE_PREFIX: isolatedQueuePrefix('invariants'),
      INVARIANT_RECOVERY_WINDOW_SECONDS: '3600',
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
    });
    data = await buildSettledOrders(sut);
    admin = await accessTokenFor(sut, {
      id: '00000000-0000-4000-8000-00000000a001',
      email: 'admin-inv@example.com',
      role: 'admin',
    });
    customer = await accessTokenFor(sut, { id: data.userId, email: 'c-inv@example.com', role: 'customer' });
  });
  afterAll(async () => {
    await sut.close();
    await database.drop();
  });

  const get = (path: string, token?: string) => {
    const req = sut.http().get(path);
    return token ? req.set('authorization', `Bearer ${token}`) : req;
  };

  it('is for admins only', async () => {
    await get('/api/v1/admin/invariants').expect(401);
    await get('/api/v1/admin/invariants', customer).expect(403);
  });

  it('reports every check with its count on a consistent database, and the CLI exits 0', async () => {
    const res = await get('/api/v1/admin/invariants', admin).expect(200);
    expect(res.body).toMatchObject({ ok: true, violations: 0, attention: 2 });
    expect(res.body.checks.map((c: { name: string }) => c.name)).toEqual(INVARIANT_CHECKS.map((c) => c.name));

    const cli = await checkInvariants(database.url);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^ok\s+money_balances\s+0/m);
    expect(cli.stdout).toMatch(/^note\s+orders_needing_attention\s+1/m);
    expect(cli.stdout).toMatch(/OK: every invariant holds/);
  });

  describe('with a broken promise', () => {
    beforeAll(async () => {
      await sut.dataSource.query(`UPDATE orders SET total_amount = total_amount + 1 WHERE id = $1`, [
        data.orders.confirmed.id,
      ]);
      // The line moves with the total, so only the money no longer adds up (order_totals holds).
      await sut.dataSource.query(
        `UPDATE order_items SET unit_price = unit_price + 1, line_total = line_total + 1
         WHERE order_id = $1 AND product_id = $2`,
        [data.orders.confirmed.id, data.products.b],
      );
    });

    it('names the offending order in the report', async () => {
      const res = await get('/api/v1/admin/invariants', admin).expect(200);
      expect(res.body).toMatchObject({ ok: false, violations: 1 });
      expect(res.body.checks.find((c: { name: string }) => c.name === 'money_balances')).toMatchObject({
        count: 1,
        rows: [{ orderId: data.orders.confirmed.id, rule: 'captured differs from total' }],
      });
    });

    it('sets aop_invariant_violations{invariant} and shows the last run in /health/detailed', async () => {
      const metrics = parsePrometheusText((await get('/metrics').expect(200)).text);
      expect(sampleValue(metrics, 'aop_invariant_violations', { invariant: 'money_balances' })).toBe(1);
      expect(sampleValue(metrics, 'aop_invariant_violations', { invariant: 'stock_matches_ledger' })).toBe(0);
      expect(sampleValue(metrics, 'aop_invariant_attention', { invariant: 'outbox_parked' })).toBe(1);

      const health = await get('/api/v1/health/detailed', admin);
      expect(health.body.details.invariants).toMatchObject({
        status: 'up',
        ok: false,
        degraded: true,
        violations: 1,
        failing: { money_balances: 1 },
      });
    });

    it('the scheduler of the worker role re-runs the check on its own, every INVARIANT_CHECK_INTERVAL_MS', async () => {
      const service = sut.get(InvariantsService);
      const before = (await service.lastSummary())!.checkedAt;
      // The app under test has the api role (the saga's job handlers are not part of this spec).
      const scheduler = new InvariantsScheduler(service, {
        ...sut.config,
        role: 'worker',
        invariants: { ...sut.config.invariants, intervalMs: 100 },
      });
      scheduler.onApplicationBootstrap();
      try {
        const after = await eventually(
          async () => {
            const now = (await get('/api/v1/health/detailed', admin)).body.details.invariants;
            return now.checkedAt !== before ? now : undefined;
          },
          { timeoutMs: 5000, intervalMs: 50, what: 'a periodic invariant run' },
        );
        expect(after).toMatchObject({ ok: false, failing: { money_balances: 1 } });
      } finally {
        await scheduler.onModuleDestroy();
      }
    });

    it('the scheduler stays off in the api role and with an interval of 0', () => {
      const service = sut.get(InvariantsService);
      for (const config of [
        { ...sut.config, role: 'api' as const, invariants: { ...sut.config.invariants, intervalMs: 100 } },
        { ...sut.config, role: 'worker' as const, invariants: { ...sut.config.invariants, intervalMs: 0 } },
      ]) {
        const scheduler = new InvariantsScheduler(service, config);
        scheduler.onApplicationBootstrap();
        expect(scheduler.isScheduled).toBe(false);
      }
    });

    it('the CLI prints the offender and exits 1; --json gives the same report as the endpoint', async () => {
      const text = await checkInvariants(database.url);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^FAIL\s+money_balances\s+1/m);
      expect(text.stdout).toContain(data.orders.confirmed.id);
      expect(text.stdout).toMatch(/BROKEN: 1 violation/);

      const json = await checkInvariants(database.url, ['--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, violations: 1 });
    });
  });
});

describe('Invariant checker after the real order saga', () => {
  let sut: TestApp;
  let database: { url: string; drop: () => Promise<void> };

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    sut = await startTestApp({
      ROLE: 'all',
      DATABASE_URL: database.url,
      QUEUE_PREFIX: isolatedQueuePrefix('invariants-saga'),
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
      INVARIANT_RECOVERY_WINDOW_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await sut.close();
    await database.drop();
  });

  it('finds nothing wrong once confirmed, declined, out-of-stock, cancelled, shipped and refunded orders settle', async () => {
    const { token } = await createUserWithToken(sut);
    const adminToken = await accessTokenFor(sut, {
      id: '00000000-0000-4000-8000-00000000a002',
      email: 'admin-saga@example.com',
      role: 'admin',
    });
    const product = await createProduct(sut.dataSource, { price: '20.00', stock: 10 });
    const call = (method: 'get' | 'post', path: string, bearer = token) =>
      sut.http()[method](`/api/v1${path}`).set('authorization', `Bearer ${bearer}`);
    const place = async (quantity: number, paymentToken: string) =>
      (
        await call('post', '/orders')
          .send({ items: [{ productId: product.id, quantity }], paymentToken })
          .expect(202)
      ).body.id as string;
    const settled = (id: string, status: string) =>
      eventually(async () => (await call('get', `/orders/${id}/status`)).body.status === status, {
        timeoutMs: 15_000,
        intervalMs: 50,
        what: `order ${id} ${status}`,
      });

    const [confirmed, declined, tooMany, toCancel, toShip, toRefund, partly] = await Promise.all([
      place(1, 'tok_success'),
      place(1, 'tok_declined'),
      place(50, 'tok_success'),
      place(1, 'tok_success'),
      place(1, 'tok_success'),
      place(1, 'tok_success'),
      place(2, 'tok_success'),
    ]);
    await Promise.all([
      settled(confirmed, 'CONFIRMED'),
      settled(declined, 'PAYMENT_FAILED'),
      settled(tooMany, 'CANCELLED'),
      ...[toCancel, toShip, toRefund, partly].map((id) => settled(id, 'CONFIRMED')),
    ]);
    await call('post', `/orders/${toCancel}/cancel`).send({}).expect(202);
    await call('post', `/orders/${toShip}/ship`, adminToken).send({ trackingNumber: 'TRACK-1' }).expect(200);
    await call('post', `/orders/${toShip}/deliver`, adminToken).send({}).expect(200);
    await call('post', `/orders/${toRefund}/refund`, adminToken).send({}).expect(200);
    await call('post', `/orders/${partly}/refund`, adminToken).send({ amount: '5.00' }).expect(200);
    await Promise.all([settled(toCancel, 'CANCELLED'), settled(toRefund, 'REFUNDED')]);

    const report = await eventually(
      async () => {
        const res = await call('get', '/admin/invariants', adminToken).expect(200);
        return res.body.ok ? res.body : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'a clean invariant report' },
    ).catch(async (error: Error) => {
      const last = (await call('get', '/admin/invariants', adminToken)).body;
      throw new Error(
        `${error.message}: ${JSON.stringify(last.checks.filter((c: { count: number }) => c.count))}`,
      );
    });
    expect(report).toMatchObject({ ok: true, violations: 0, attention: 0 });
  }, 60_000);
});
