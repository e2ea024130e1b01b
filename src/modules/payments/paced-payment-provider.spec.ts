import { loadConfig } from '../../config/config';
import { mulberry32 } from '../../platform/random';
import { GatewayPacer } from './gateway-pacer';
import { MockGatewayOptions, MockPaymentGateway } from './mock-payment-gateway';
import { PaymentGatewayUnavailableError } from './payment.errors';
import { ChargeResult } from './payment-provider';
import { PacedPaymentProvider } from './paced-payment-provider';

/** Time that moves only when every pending promise waits on it: minutes of gateway traffic in milliseconds. */
class VirtualTime {
  now = 0;
  private seq = 0;
  private readonly timers: { at: number; seq: number; resolve: () => void }[] = [];

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => this.timers.push({ at: this.now + ms, seq: this.seq++, resolve }));

  async run<T>(work: Promise<T>): Promise<T> {
    let outcome: { value: T } | { error: unknown } | undefined;
    work.then(
      (value) => (outcome = { value }),
      (error: unknown) => (outcome = { error }),
    );
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (outcome) {
        if ('error' in outcome) {
          throw outcome.error;
        }
        return outcome.value;
      }
      if (this.timers.length === 0) {
        throw new Error('nothing left to wait for, yet the work is not done');
      }
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.now = Math.max(this.now, next.at);
      next.resolve();
    }
  }
}

const DEFAULTS = loadConfig({});

describe(PacedPaymentProvider.name, () => {
  let time: VirtualTime;
  let gateway: MockPaymentGateway;
  let sut: PacedPaymentProvider;

  function setup(gatewayOptions: Partial<MockGatewayOptions>, maxWaitMs = DEFAULTS.payment.paceMaxWaitMs) {
    time = new VirtualTime();
    const now = () => time.now;
    gateway = new MockPaymentGateway(
      {
        successRate: 1,
        transientFailureRate: 0,
        latencyMinMs: DEFAULTS.payment.latencyMinMs,
        latencyMaxMs: DEFAULTS.payment.latencyMaxMs,
        slowLatencyMs: 10_000,
        fraudLimitUsd: 1000,
        dropResponseRate: 0,
        ratePerSecond: DEFAULTS.payment.gatewayRatePerSecond,
        burst: DEFAULTS.payment.gatewayBurst,
        bankTransferSettleMs: 0,
        ...gatewayOptions,
      },
      { random: mulberry32(3), webhooks: { send: async () => undefined }, sleep: time.sleep, now },
    );
    const pacer = new GatewayPacer({ maxWaitMs, minRatePerSecond: 1 }, now);
    sut = new PacedPaymentProvider(gateway, pacer, maxWaitMs, time.sleep);
  }

  /** `slots` payment jobs at once (a worker's concurrency) working through `orders` charges. */
  async function chargeAll(orders: number, slots: number) {
    let next = 0;
    const results: ChargeResult[] = [];
    const failures: unknown[] = [];
    const slot = async (): Promise<void> => {
      while (next < orders) {
        const i = next++;
        await sut
          .charge({ idempotencyKey: `charge:${i}`, amount: '10.00', currency: 'USD', method: 'credit_card' })
          .then(
            (r) => results.push(r),
            (e: unknown) => failures.push(e),
          );
      }
    };
    const started = time.now;
    await time.run(Promise.all(Array.from({ length: slots }, slot)));
    return { results, failures, perSecond: (orders * 1000) / (time.now - started) };
  }

  describe('a gateway that answers 429 over its rate limit', () => {
    it('is paced to ≥ 0.9 × its limit, with no call failed and so no job attempt spent (latency 0)', async () => {
      setup({ latencyMinMs: 0, latencyMaxMs: 0, ratePerSecond: 100, burst: 100 });
      const { results, failures, perSecond } = await chargeAll(3000, 10);
      expect(failures).toEqual([]);
      expect(results.every((r) => r.status === 'SUCCEEDED')).toBe(true);
      expect(perSecond).toBeGreaterThanOrEqual(90);
      // The pace is learnt from few refusals, not by hammering the gateway.
      expect(gateway.rateLimitedCalls).toBeLessThan(0.1 * 3000);
    });
  });

  describe('a slow gateway (the default mock: 100–2000 ms, 100/s)', () => {
    it('keeps its rate limit busy with the default payment concurrency: ≥ 90 charges/s', async () => {
      setup({});
      const slots = DEFAULTS.queue.concurrency.paymentProcessing;
      const { failures, perSecond } = await chargeAll(4000, slots);
      expect(failures).toEqual([]);
      expect(perSecond).toBeGreaterThanOrEqual(90);
    });
  });

  describe('a wait longer than allowed', () => {
    it('fails at once as gateway_rate_limited with the expected wait, so the job is put back', async () => {
      setup({ latencyMinMs: 0, latencyMaxMs: 0, ratePerSecond: 1, burst: 1 }, 500);
      const first = await time.run(
        sut.charge({ idempotencyKey: 'a', amount: '1.00', currency: 'USD', method: 'credit_card' }),
      );
      expect(first.status).toBe('SUCCEEDED');
      const refused = await time
        .run(sut.charge({ idempotencyKey: 'b', amount: '1.00', currency: 'USD', method: 'credit_card' }))
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PaymentGatewayUnavailableError);
      expect(refused).toMatchObject({ code: 'gateway_rate_limited', retryAfterMs: 1000 });
    });
  });
});
