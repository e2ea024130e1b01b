import { randomUUID } from 'node:crypto';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { LedgerCharge, LedgerRefund } from './mock-gateway.ledger';
import { PostgresMockGatewayLedger } from './postgres-mock-gateway.ledger';

describe(PostgresMockGatewayLedger.name, () => {
  let app: TestApp;
  let first: PostgresMockGatewayLedger;
  let second: PostgresMockGatewayLedger;

  beforeAll(async () => {
    app = await startTestApp();
    // Two processes' gateways, one table: what every worker of a deployment shares.
    first = new PostgresMockGatewayLedger(app.dataSource);
    second = new PostgresMockGatewayLedger(app.dataSource);
  });
  afterAll(() => app.close());

  const charge = (overrides: Partial<LedgerCharge> = {}): LedgerCharge => ({
    reference: `ch_${randomUUID()}`,
    idempotencyKey: `charge:${randomUUID()}`,
    orderId: randomUUID(),
    status: 'SUCCEEDED',
    cents: 3000,
    currency: 'USD',
    method: 'credit_card',
    refundsFail: false,
    ...overrides,
  });

  it('books one charge per idempotency key, whichever process sends it, and answers the others with it', async () => {
    const proposed = charge();
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? first : second).bookCharge({ ...proposed, reference: `ch_${randomUUID()}` }),
      ),
    );
    expect(answers.filter((a) => a.created)).toHaveLength(1);
    const standing = answers.find((a) => a.created)!.charge.reference;
    expect(new Set(answers.map((a) => a.charge.reference))).toEqual(new Set([standing]));
    const [{ n }] = await app.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM mock_gateway_ledger WHERE order_id = $1`,
      [proposed.orderId],
    );
    expect(n).toBe(1);
  });

  it('serialises refunds of one charge across processes, so they never exceed it', async () => {
    const booked = (await first.bookCharge(charge({ cents: 1000 }))).charge;
    const refund = (ledger: PostgresMockGatewayLedger, key: string) =>
      ledger.bookRefund(key, booked.reference, (c, refunded): LedgerRefund => ({
        reference: `re_${randomUUID()}`,
        idempotencyKey: key,
        chargeReference: booked.reference,
        cents: 400,
        currency: 'USD',
        status: c && refunded + 400 <= c.cents ? 'SUCCEEDED' : 'FAILED',
      }));
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, (_, i) => refund(i % 2 ? first : second, `refund-${booked.reference}-${i}`)),
    );
    expect(outcomes.filter((o) => o.status === 'SUCCEEDED')).toHaveLength(2);
    expect(await second.refundedCents(booked.reference)).toBe(800);
    // The same key again is the same refund, not a new one.
    const again = await refund(first, `refund-${booked.reference}-0`);
    expect(again).toEqual(outcomes[0]);
  });

  it('settles a pending charge once', async () => {
    const pending = (await first.bookCharge(charge({ status: 'PENDING', method: 'bank_transfer' }))).charge;
    await second.settleCharge(pending.reference, 'FAILED', { code: 'insufficient_funds', message: 'no' });
    await first.settleCharge(pending.reference, 'SUCCEEDED');
    expect(await first.findCharge(pending.reference)).toMatchObject({
      status: 'FAILED',
      failureCode: 'insufficient_funds',
    });
  });
});
