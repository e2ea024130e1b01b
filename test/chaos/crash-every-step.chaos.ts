import { eventually } from '../support/eventually';
import { ChaosEnv, ChaosUser } from './support/chaos-env';
import { reportFigures } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectGatewayLedgerClean, readGatewayLedger } from './support/gateway-ledger';
import { expectClean, recoverAndCheck } from './support/verdict';

const FORWARD_STEPS = [
  'verifyStock',
  'reserveInventory',
  'chargePayment',
  'confirmReservation',
  'notifyCustomer',
];

interface CrashCase {
  crashAt: string;
  /** declined: the compensation of a declined card; cancel: the customer cancels a confirmed order. */
  path: 'forward' | 'declined' | 'cancel';
}

const CASES: CrashCase[] = [
  ...FORWARD_STEPS.flatMap((step) =>
    (['before', 'after'] as const).map((when): CrashCase => ({
      crashAt: `${step}:${when}`,
      path: 'forward',
    })),
  ),
  { crashAt: 'compensate:reserveInventory:before', path: 'declined' },
  { crashAt: 'compensate:reserveInventory:after', path: 'declined' },
  { crashAt: 'compensate:confirmReservation:before', path: 'cancel' },
  { crashAt: 'compensate:confirmReservation:after', path: 'cancel' },
  { crashAt: 'compensate:chargePayment:before', path: 'cancel' },
  { crashAt: 'compensate:chargePayment:after', path: 'cancel' },
];

const EXPECTED = {
  forward: {
    status: 'CONFIRMED',
    reservations: 1,
    reservation: 'CONFIRMED',
    captured: 1,
    refunded: 0,
    confirmations: 1,
    saga: 'COMPLETED',
    stockBack: false,
  },
  declined: {
    status: 'PAYMENT_FAILED',
    reservations: 1,
    reservation: 'RELEASED',
    captured: 0,
    refunded: 0,
    confirmations: 0,
    saga: 'COMPENSATED',
    stockBack: true,
  },
  cancel: {
    status: 'CANCELLED',
    reservations: 1,
    reservation: 'RELEASED',
    captured: 1,
    refunded: 1,
    confirmations: 1,
    saga: 'COMPENSATED',
    stockBack: true,
  },
};

/**
 * A worker started with CRASH_AT=<step>:<before|after> SIGKILLs itself at that point of the saga (before:
 * inside the step's transaction, so nothing of it commits; after: once its effect committed). A fresh
 * worker without the hook must then finish the order correctly, with every effect exactly once.
 */
describe('chaos: crash at every saga step', () => {
  let env: ChaosEnv;
  let api: ServiceProcess;
  let customer: ChaosUser;
  let worker: ServiceProcess | undefined;
  const started = Date.now();
  let crashes = 0;

  beforeAll(async () => {
    env = await new ChaosEnv('crash-steps').setUp();
    api = await env.start('api');
    [customer] = await env.createUsers(1);
  });
  afterAll(() => env.tearDown());

  async function settled(orderId: string, accept: string[]): Promise<string> {
    return eventually(
      async () => {
        const [row] = await env.ds.query<{ status: string; saga: string | null }[]>(
          `SELECT o.status, s.status AS saga FROM orders o LEFT JOIN saga_state s ON s.order_id = o.id WHERE o.id = $1`,
          [orderId],
        );
        return (
          accept.includes(row.status) && ['COMPLETED', 'COMPENSATED'].includes(row.saga ?? '') && row.status
        );
      },
      { timeoutMs: 20_000, intervalMs: 100, what: `order ${orderId} to settle in ${accept.join('/')}` },
    );
  }

  async function effectsOf(orderId: string, productId: string) {
    const [row] = await env.ds.query(
      `SELECT o.status,
         (SELECT count(*)::int FROM inventory_reservations WHERE order_id = $1) AS reservations,
         (SELECT string_agg(status, ',') FROM inventory_reservations WHERE order_id = $1) AS reservation,
         (SELECT count(*)::int FROM payments WHERE order_id = $1 AND kind = 'CHARGE' AND status = 'SUCCEEDED') AS captured,
         (SELECT count(*)::int FROM payments WHERE order_id = $1 AND kind = 'REFUND' AND status = 'SUCCEEDED') AS refunded,
         (SELECT count(*)::int FROM notifications WHERE order_id = $1 AND template = 'order-confirmation') AS confirmations,
         (SELECT status FROM saga_state WHERE order_id = $1) AS saga,
         (SELECT quantity = 10 AND reserved_quantity = 0 FROM inventory WHERE product_id = $2) AS "stockBack"
       FROM orders o WHERE o.id = $1`,
      [orderId, productId],
    );
    return row;
  }

  it.each(CASES)(
    'CRASH_AT=$crashAt ($path): a fresh worker finishes the order exactly once',
    async ({ crashAt, path }) => {
      await worker?.kill();
      const product = await env.createProduct({ stock: 10, price: '20.00' });
      const crashing = await env.start('worker', { CRASH_AT: crashAt });
      const placed = await env.placeOrder(
        api,
        customer,
        {
          items: [{ productId: product.id, quantity: 2 }],
          paymentToken: path === 'declined' ? 'tok_declined' : 'tok_success',
        },
        { idempotencyKey: `crash-${crashAt}` },
      );
      expect(placed.status).toBe(202);
      const orderId = placed.body.id as string;
      if (path === 'cancel') {
        await settled(orderId, ['CONFIRMED']);
        const cancel = await env.request(api, 'POST', `/api/v1/orders/${orderId}/cancel`, {
          headers: { authorization: `Bearer ${customer.token}` },
        });
        expect(cancel.status).toBe(202);
      }

      const exit = await crashing.waitForExit(30_000);
      expect(exit.signal).toBe('SIGKILL');
      crashes += 1;

      worker = await env.start('worker');
      await settled(orderId, [EXPECTED[path].status]);
      expect(await effectsOf(orderId, product.id)).toEqual(EXPECTED[path]);
    },
  );

  it('leaves every invariant intact', async () => {
    const verdict = await recoverAndCheck(env, { windowMs: 30_000 });
    const gateway = await readGatewayLedger(env.ds);
    reportFigures({
      scenario: 'crash-every-step',
      orders: CASES.length,
      kills: crashes,
      violations: verdict.invariants.violations + verdict.unsettled,
      durationMs: Date.now() - started,
      crashPoints: CASES.map((c) => c.crashAt),
      outcomes: verdict.outcomes,
      executedCharges: gateway.executedCharges,
    });
    expect(crashes).toBe(CASES.length);
    expectClean(verdict);
    expectGatewayLedgerClean(gateway);
  });
});
