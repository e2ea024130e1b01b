import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../platform/random';
import { MockGatewayOptions, MockPaymentGateway } from './mock-payment-gateway';
import { InMemoryMockGatewayLedger, MockGatewayLedger } from './mock-gateway.ledger';
import { PermanentPaymentError, RateLimitedPaymentError, TransientPaymentError } from './payment.errors';
import { ChargeRequest } from './payment-provider';
import { GatewayWebhookEvent, WebhookSender } from './webhook-sender';

class RecordingWebhookSender implements WebhookSender {
  readonly sent: GatewayWebhookEvent[] = [];
  async send(event: GatewayWebhookEvent): Promise<void> {
    this.sent.push(event);
  }
}

const ALWAYS_SUCCEED: MockGatewayOptions = {
  successRate: 1,
  transientFailureRate: 0,
  latencyMinMs: 0,
  latencyMaxMs: 0,
  slowLatencyMs: 5000,
  fraudLimitUsd: 1000,
  dropResponseRate: 0,
  ratePerSecond: 1_000_000,
  burst: 1_000_000,
  bankTransferSettleMs: 1000,
};

function setup(overrides: Partial<MockGatewayOptions> = {}, seed = 42) {
  const webhooks = new RecordingWebhookSender();
  const sleeps: number[] = [];
  const scheduled: { fn: () => void; ms: number }[] = [];
  let now = 1_700_000_000_000;
  const sut = new MockPaymentGateway(
    { ...ALWAYS_SUCCEED, ...overrides },
    {
      random: mulberry32(seed),
      webhooks,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      now: () => now,
      schedule: (fn, ms) => {
        scheduled.push({ fn, ms });
        return () => undefined;
      },
    },
  );
  return {
    sut,
    webhooks,
    sleeps,
    scheduled,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** The settlement books itself in the ledger before its webhook leaves: let that happen. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let counter = 0;
function chargeOf(overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  counter += 1;
  return {
    idempotencyKey: `key-${counter}`,
    amount: '50.00',
    currency: 'USD',
    method: 'credit_card',
    ...overrides,
  };
}

describe(MockPaymentGateway.name, () => {
  describe('test tokens', () => {
    it('tok_success always succeeds, even when the configured rates say otherwise', async () => {
      const { sut } = setup({ successRate: 0, transientFailureRate: 0 });
      await expect(sut.charge(chargeOf({ token: 'tok_success' }))).resolves.toMatchObject({
        status: 'SUCCEEDED',
        amount: '50.00',
        currency: 'USD',
      });
    });

    it.each([
      ['tok_declined', 'card_declined'],
      ['tok_insufficient_funds', 'insufficient_funds'],
      ['tok_expired_card', 'expired_card'],
      ['tok_fraud', 'fraud_suspected'],
      ['tok_nonsense', 'invalid_token'],
    ])('%s declines permanently with %s', async (token, code) => {
      const { sut } = setup();
      const result = await sut.charge(chargeOf({ token }));
      expect(result).toMatchObject({ status: 'FAILED', failureCode: code });
      expect(result.failureMessage).toEqual(expect.any(String));
      expect(sut.chargesExecuted).toBe(0);
    });

    it('tok_transient_2 fails twice per idempotency key, then succeeds', async () => {
      const { sut } = setup();
      const request = chargeOf({ token: 'tok_transient_2' });
      await expect(sut.charge(request)).rejects.toBeInstanceOf(TransientPaymentError);
      await expect(sut.charge(request)).rejects.toBeInstanceOf(TransientPaymentError);
      await expect(sut.charge(request)).resolves.toMatchObject({ status: 'SUCCEEDED' });
      const other = chargeOf({ token: 'tok_transient_2' });
      await expect(sut.charge(other)).rejects.toBeInstanceOf(TransientPaymentError);
    });

    it('tok_slow waits the slow latency before answering', async () => {
      const { sut, sleeps } = setup({ slowLatencyMs: 7000 });
      await expect(sut.charge(chargeOf({ token: 'tok_slow' }))).resolves.toMatchObject({
        status: 'SUCCEEDED',
      });
      expect(sleeps).toEqual([7000]);
    });

    it('tok_lost_response charges, loses the answer, and a retry returns the original charge', async () => {
      const { sut } = setup();
      const request = chargeOf({ token: 'tok_lost_response' });
      const lost = await sut.charge(request).catch((e: unknown) => e);
      expect(lost).toBeInstanceOf(TransientPaymentError);
      expect((lost as TransientPaymentError).code).toBe('response_lost');
      expect(sut.chargesExecuted).toBe(1);
      const retried = await sut.charge(request);
      expect(retried.status).toBe('SUCCEEDED');
      expect(await sut.getPayment(retried.reference)).toMatchObject({ status: 'SUCCEEDED' });
      expect(sut.chargesExecuted).toBe(1);
    });

    it('tok_refund_fails charges, then declines every refund', async () => {
      const { sut } = setup();
      const charge = await sut.charge(chargeOf({ token: 'tok_refund_fails' }));
      const refund = await sut.refund({
        idempotencyKey: 'r-fail',
        chargeReference: charge.reference,
        amount: '10.00',
        currency: 'USD',
      });
      expect(refund).toMatchObject({ status: 'FAILED', failureCode: 'refund_declined' });
    });
  });

  describe('configured randomness', () => {
    it('matches the default 80/15/5 split over 10,000 charges, with realistic decline codes', async () => {
      const { sut } = setup({ successRate: 0.8, transientFailureRate: 0.15 }, 7);
      const counts = { succeeded: 0, transient: 0, declined: 0 };
      const codes = new Set<string>();
      for (let i = 0; i < 10_000; i++) {
        try {
          const result = await sut.charge(chargeOf());
          if (result.status === 'SUCCEEDED') {
            counts.succeeded += 1;
          } else {
            counts.declined += 1;
            codes.add(result.failureCode!);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(TransientPaymentError);
          counts.transient += 1;
        }
      }
      expect(counts.succeeded / 10_000).toBeCloseTo(0.8, 1);
      expect(Math.abs(counts.succeeded / 10_000 - 0.8)).toBeLessThan(0.015);
      expect(Math.abs(counts.transient / 10_000 - 0.15)).toBeLessThan(0.015);
      expect(Math.abs(counts.declined / 10_000 - 0.05)).toBeLessThan(0.01);
      expect([...codes].sort()).toEqual([
        'card_declined',
        'expired_card',
        'incorrect_cvc',
        'insufficient_funds',
      ]);
    });

    it('a transiently failed charge succeeds when retried with the same key', async () => {
      const { sut } = setup({ successRate: 0, transientFailureRate: 1 });
      const request = chargeOf();
      await expect(sut.charge(request)).rejects.toBeInstanceOf(TransientPaymentError);
      await expect(sut.charge(request)).resolves.toMatchObject({ status: 'SUCCEEDED' });
    });

    it('is deterministic for a given seed', async () => {
      const outcomes = async (seed: number) => {
        const { sut } = setup({ successRate: 0.5, transientFailureRate: 0.3 }, seed);
        const seen: string[] = [];
        for (let i = 0; i < 50; i++) {
          seen.push(
            await sut.charge(chargeOf()).then(
              (r) => r.failureCode ?? r.status,
              (e: TransientPaymentError) => e.code,
            ),
          );
        }
        return seen;
      };
      expect(await outcomes(99)).toEqual(await outcomes(99));
      expect(await outcomes(99)).not.toEqual(await outcomes(100));
    });

    it('waits a latency drawn uniformly from [min, max]', async () => {
      const { sut, sleeps } = setup({ latencyMinMs: 100, latencyMaxMs: 200 });
      for (let i = 0; i < 500; i++) {
        await sut.charge(chargeOf());
      }
      expect(Math.min(...sleeps)).toBeGreaterThanOrEqual(100);
      expect(Math.max(...sleeps)).toBeLessThanOrEqual(200);
      const mean = sleeps.reduce((a, b) => a + b, 0) / sleeps.length;
      expect(Math.abs(mean - 150)).toBeLessThan(10);
    });

    it('drops the answer of a configured share of successful charges, never charging twice', async () => {
      const { sut } = setup({ dropResponseRate: 1 });
      const request = chargeOf();
      await expect(sut.charge(request)).rejects.toMatchObject({ code: 'response_lost' });
      const again = await sut.charge(request);
      const third = await sut.charge(request);
      expect(third.reference).toBe(again.reference);
      expect(sut.chargesExecuted).toBe(1);
    });
  });

  describe('fraud rule', () => {
    it('declines amounts above the limit in USD after conversion', async () => {
      const { sut } = setup({ fraudLimitUsd: 1000 });
      await expect(sut.charge(chargeOf({ amount: '1000.00' }))).resolves.toMatchObject({
        status: 'SUCCEEDED',
      });
      await expect(sut.charge(chargeOf({ amount: '1000.01' }))).resolves.toMatchObject({
        failureCode: 'fraud_suspected',
      });
      // 950 EUR ≈ 1026 USD: over the limit although the figure is below it.
      await expect(sut.charge(chargeOf({ amount: '950.00', currency: 'EUR' }))).resolves.toMatchObject({
        failureCode: 'fraud_suspected',
      });
      // 100,000 JPY ≈ 670 USD: under the limit although the figure is far above it.
      await expect(sut.charge(chargeOf({ amount: '100000.00', currency: 'JPY' }))).resolves.toMatchObject({
        status: 'SUCCEEDED',
      });
    });

    it('declines a currency it cannot convert', async () => {
      const { sut } = setup();
      await expect(sut.charge(chargeOf({ currency: 'XXX' }))).resolves.toMatchObject({
        failureCode: 'currency_not_supported',
      });
    });
  });

  describe('idempotency', () => {
    it('answers the same key with the same charge and never charges twice', async () => {
      const { sut } = setup();
      const request = chargeOf();
      const [a, b] = await Promise.all([sut.charge(request), sut.charge(request)]);
      const c = await sut.charge(request);
      expect(b.reference).toBe(a.reference);
      expect(c.reference).toBe(a.reference);
      expect(sut.chargesExecuted).toBe(1);
    });

    it('replays a decline for the same key', async () => {
      const { sut } = setup();
      const request = chargeOf({ token: 'tok_declined' });
      const first = await sut.charge(request);
      expect(await sut.charge({ ...request, token: undefined })).toEqual(first);
    });

    it('refuses to reuse a key with different parameters', async () => {
      const { sut } = setup();
      const request = chargeOf();
      await sut.charge(request);
      await expect(sut.charge({ ...request, amount: '51.00' })).rejects.toBeInstanceOf(PermanentPaymentError);
    });

    it('refuses invalid requests permanently', async () => {
      const { sut } = setup();
      await expect(sut.charge(chargeOf({ amount: '0.00' }))).rejects.toMatchObject({
        code: 'invalid_amount',
      });
      await expect(sut.charge(chargeOf({ amount: '1.234' }))).rejects.toMatchObject({
        code: 'invalid_amount',
      });
      await expect(sut.charge(chargeOf({ method: 'cash' as never }))).rejects.toMatchObject({
        code: 'invalid_method',
      });
    });
  });

  describe('refunds', () => {
    it('refunds partially and fully, never more than captured', async () => {
      const { sut } = setup();
      const charge = await sut.charge(chargeOf({ amount: '100.00' }));
      const refund = (key: string, amount: string) =>
        sut.refund({ idempotencyKey: key, chargeReference: charge.reference, amount, currency: 'USD' });

      await expect(refund('r1', '30.00')).resolves.toMatchObject({ status: 'SUCCEEDED', amount: '30.00' });
      await expect(refund('r2', '70.01')).resolves.toMatchObject({
        status: 'FAILED',
        failureCode: 'refund_exceeds_captured',
      });
      await expect(refund('r3', '70.00')).resolves.toMatchObject({ status: 'SUCCEEDED' });
      await expect(refund('r4', '0.01')).resolves.toMatchObject({ failureCode: 'refund_exceeds_captured' });
      expect(await sut.getPayment(charge.reference)).toMatchObject({
        amount: '100.00',
        refundedAmount: '100.00',
      });
    });

    it('applies a refund once per idempotency key', async () => {
      const { sut } = setup();
      const charge = await sut.charge(chargeOf({ amount: '20.00' }));
      const request = {
        idempotencyKey: 'once',
        chargeReference: charge.reference,
        amount: '5.00',
        currency: 'USD',
      };
      const first = await sut.refund(request);
      expect(await sut.refund(request)).toEqual(first);
      expect((await sut.getPayment(charge.reference))?.refundedAmount).toBe('5.00');
    });

    it('refuses to refund an unknown or unsettled charge', async () => {
      const { sut } = setup();
      await expect(
        sut.refund({ idempotencyKey: 'x1', chargeReference: 'ch_missing', amount: '1.00', currency: 'USD' }),
      ).resolves.toMatchObject({ failureCode: 'charge_not_found' });
      const pending = await sut.charge(chargeOf({ method: 'bank_transfer' }));
      await expect(
        sut.refund({
          idempotencyKey: 'x2',
          chargeReference: pending.reference,
          amount: '1.00',
          currency: 'USD',
        }),
      ).resolves.toMatchObject({ failureCode: 'charge_not_settled' });
    });
  });

  describe('outage (PAYMENT_OUTAGE_FILE)', () => {
    it('fails every call transiently while the file exists, without charging, and recovers when it goes', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'aop-outage-')), 'down');
      const { sut } = setup({ outageFile: file });
      const settled = await sut.charge(chargeOf({ amount: '10.00' }));

      writeFileSync(file, '');
      const request = chargeOf({ amount: '25.00' });
      await expect(sut.charge(request)).rejects.toMatchObject({ code: 'gateway_outage' });
      await expect(
        sut.refund({
          idempotencyKey: 'r',
          chargeReference: settled.reference,
          amount: '1.00',
          currency: 'USD',
        }),
      ).rejects.toBeInstanceOf(TransientPaymentError);
      await expect(sut.getPayment(settled.reference)).rejects.toMatchObject({ code: 'gateway_outage' });
      expect({ charged: sut.chargesExecuted, refused: sut.outageCalls }).toEqual({ charged: 1, refused: 3 });

      rmSync(file);
      await expect(sut.charge(request)).resolves.toMatchObject({ status: 'SUCCEEDED', amount: '25.00' });
      expect(sut.chargesExecuted).toBe(2);
    });
  });

  describe('several instances (worker processes, or one restarted after a crash)', () => {
    it('refunds a settled charge another instance made, keeping its refund policy', async () => {
      const first = setup().sut;
      const second = setup().sut;
      const charge = await first.charge(chargeOf({ amount: '40.00' }));
      const refusing = await first.charge(chargeOf({ amount: '10.00', token: 'tok_refund_fails' }));
      const refund = (reference: string, amount: string) =>
        second.refund({
          idempotencyKey: `r-${reference}`,
          chargeReference: reference,
          amount,
          currency: 'USD',
        });

      await expect(refund(charge.reference, '40.00')).resolves.toMatchObject({ status: 'SUCCEEDED' });
      await expect(refund(refusing.reference, '10.00')).resolves.toMatchObject({
        failureCode: 'refund_declined',
      });
      expect(await second.getPayment(charge.reference)).toMatchObject({
        status: 'SUCCEEDED',
        amount: '40.00',
      });
      await expect(refund('ch_forged.e30', '1.00')).resolves.toMatchObject({
        failureCode: 'charge_not_found',
      });
    });
  });

  describe('status lookup', () => {
    it('reports a charge by reference and nothing for an unknown one', async () => {
      const { sut } = setup();
      const charge = await sut.charge(chargeOf({ amount: '12.34', method: 'debit_card' }));
      expect(await sut.getPayment(charge.reference)).toEqual({
        reference: charge.reference,
        status: 'SUCCEEDED',
        amount: '12.34',
        refundedAmount: '0.00',
        currency: 'USD',
        method: 'debit_card',
        failureCode: undefined,
      });
      expect(await sut.getPayment('ch_unknown')).toBeUndefined();
    });
  });

  describe('rate limit', () => {
    it('answers rate_limited once the bucket is empty and recovers as it refills', async () => {
      const { sut, advance } = setup({ ratePerSecond: 2, burst: 2 });
      await sut.charge(chargeOf());
      await sut.charge(chargeOf());
      const limited = chargeOf();
      await expect(sut.charge(limited)).rejects.toMatchObject({ code: 'rate_limited' });
      advance(500);
      await expect(sut.charge(limited)).resolves.toMatchObject({ status: 'SUCCEEDED' });
    });

    it('says in its 429 how long until it takes a call again (Retry-After)', async () => {
      const { sut, advance } = setup({ ratePerSecond: 4, burst: 1 });
      await sut.charge(chargeOf());
      advance(100);
      const refused = await sut.charge(chargeOf()).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RateLimitedPaymentError);
      expect((refused as RateLimitedPaymentError).retryAfterMs).toBe(150);
      expect(sut.rateLimitedCalls).toBe(1);
    });
  });

  describe('shared ledger (one gateway for every process)', () => {
    function sharing(ledger: MockGatewayLedger) {
      const instance = () =>
        new MockPaymentGateway(ALWAYS_SUCCEED, {
          random: mulberry32(7),
          webhooks: new RecordingWebhookSender(),
          ledger,
        });
      return [instance(), instance()] as const;
    }

    it('answers a key another process already charged with that charge, executing it once', async () => {
      const ledger = new InMemoryMockGatewayLedger();
      const [first, second] = sharing(ledger);
      const request = chargeOf({ metadata: { orderId: 'order-1' } });
      const original = await first.charge(request);
      const retried = await second.charge(request);
      expect(retried).toEqual(original);
      expect(first.chargesExecuted + second.chargesExecuted).toBe(1);
      expect(await ledger.findCharge(original.reference)).toMatchObject({
        orderId: 'order-1',
        status: 'SUCCEEDED',
      });
      await expect(second.charge({ ...request, amount: '51.00' })).rejects.toMatchObject({
        code: 'idempotency_key_reused',
      });
    });

    it('bounds refunds through any process by what was captured', async () => {
      const ledger = new InMemoryMockGatewayLedger();
      const [first, second] = sharing(ledger);
      const charge = await first.charge(chargeOf({ amount: '30.00' }));
      const refund = (sut: MockPaymentGateway, key: string, amount: string) =>
        sut.refund({ idempotencyKey: key, chargeReference: charge.reference, amount, currency: 'USD' });
      await expect(refund(first, 'r1', '20.00')).resolves.toMatchObject({ status: 'SUCCEEDED' });
      await expect(refund(second, 'r2', '20.00')).resolves.toMatchObject({
        failureCode: 'refund_exceeds_captured',
      });
      await expect(refund(second, 'r3', '10.00')).resolves.toMatchObject({ status: 'SUCCEEDED' });
      expect(await second.getPayment(charge.reference)).toMatchObject({ refundedAmount: '30.00' });
    });
  });

  describe('bank transfers', () => {
    it('answers PENDING, then settles later with a webhook', async () => {
      const { sut, scheduled, webhooks } = setup({ bankTransferSettleMs: 1234 });
      const request = chargeOf({ method: 'bank_transfer', amount: '75.00' });
      const charge = await sut.charge(request);
      expect(charge.status).toBe('PENDING');
      expect(scheduled.map((s) => s.ms)).toEqual([1234]);

      scheduled[0].fn();
      await settled();
      expect(webhooks.sent).toEqual([
        expect.objectContaining({
          id: expect.stringMatching(/^evt_/),
          type: 'charge.succeeded',
          data: expect.objectContaining({
            reference: charge.reference,
            idempotencyKey: request.idempotencyKey,
            status: 'SUCCEEDED',
            amount: '75.00',
          }),
        }),
      ]);
      expect(await sut.getPayment(charge.reference)).toMatchObject({ status: 'SUCCEEDED' });
    });

    it('reports a declined transfer through the webhook, not at initiation', async () => {
      const { sut, scheduled, webhooks } = setup();
      const charge = await sut.charge(chargeOf({ method: 'bank_transfer', token: 'tok_insufficient_funds' }));
      expect(charge).toMatchObject({ status: 'PENDING', failureCode: undefined });
      scheduled[0].fn();
      await settled();
      expect(webhooks.sent[0]).toMatchObject({
        type: 'charge.failed',
        data: { status: 'FAILED', failureCode: 'insufficient_funds' },
      });
    });
  });
});
