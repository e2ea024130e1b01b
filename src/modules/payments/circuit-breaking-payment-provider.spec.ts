import { Registry } from 'prom-client';
import { eventually } from '../../../test/support/eventually';
import { mulberry32 } from '../../platform/random';
import { CircuitBreakerMetrics } from './circuit-breaker.metrics';
import { CircuitBreakingPaymentProvider } from './circuit-breaking-payment-provider';
import { MockPaymentGateway } from './mock-payment-gateway';
import {
  PaymentGatewayUnavailableError,
  RateLimitedPaymentError,
  TransientPaymentError,
} from './payment.errors';
import { ChargeRequest } from './payment-provider';

let counter = 0;
function chargeOf(token?: string): ChargeRequest {
  counter += 1;
  return {
    idempotencyKey: `breaker-${counter}`,
    amount: '10.00',
    currency: 'USD',
    method: 'credit_card',
    token,
  };
}

describe(CircuitBreakingPaymentProvider.name, () => {
  let gateway: MockPaymentGateway;
  let sut: CircuitBreakingPaymentProvider;
  let registry: Registry;

  beforeEach(() => {
    gateway = new MockPaymentGateway(
      {
        successRate: 1,
        transientFailureRate: 0,
        latencyMinMs: 0,
        latencyMaxMs: 0,
        slowLatencyMs: 300,
        fraudLimitUsd: 1000,
        dropResponseRate: 0,
        ratePerSecond: 1e6,
        burst: 1e6,
        bankTransferSettleMs: 0,
      },
      { random: mulberry32(1), webhooks: { send: async () => undefined } },
    );
    sut = new CircuitBreakingPaymentProvider(gateway, {
      timeoutMs: 100,
      errorThresholdPercent: 50,
      resetTimeoutMs: 150,
      volumeThreshold: 4,
    });
    registry = new Registry();
    new CircuitBreakerMetrics(registry).track(sut);
  });

  afterEach(() => {
    sut.shutdown();
    gateway.close();
  });

  async function gauge(): Promise<number | undefined> {
    const metric = await registry.getSingleMetric('aop_circuit_breaker_state')!.get();
    return metric.values.find((v) => v.labels.breaker === 'payment-gateway')?.value;
  }

  it('passes answers through, declines included, without opening', async () => {
    for (let i = 0; i < 6; i++) {
      await expect(sut.charge(chargeOf('tok_declined'))).resolves.toMatchObject({ status: 'FAILED' });
    }
    expect(sut.state).toBe('closed');
    expect(await gauge()).toBe(0);
  });

  it('opens after repeated transient failures and then fails fast without calling the gateway', async () => {
    for (let i = 0; i < 4; i++) {
      await expect(sut.charge(chargeOf('tok_transient_2'))).rejects.toBeInstanceOf(TransientPaymentError);
    }
    expect(sut.state).toBe('open');
    expect(await gauge()).toBe(2);

    const executedBefore = gateway.chargesExecuted;
    await expect(sut.charge(chargeOf('tok_success'))).rejects.toBeInstanceOf(PaymentGatewayUnavailableError);
    expect(gateway.chargesExecuted).toBe(executedBefore);
  });

  it("does not open on the gateway's 429s: being too fast is ours to fix (the pacer), not an outage", async () => {
    const limited = new MockPaymentGateway(
      {
        successRate: 1,
        transientFailureRate: 0,
        latencyMinMs: 0,
        latencyMaxMs: 0,
        slowLatencyMs: 300,
        fraudLimitUsd: 1000,
        dropResponseRate: 0,
        ratePerSecond: 0.001,
        burst: 1,
        bankTransferSettleMs: 0,
      },
      { random: mulberry32(1), webhooks: { send: async () => undefined } },
    );
    const guarded = new CircuitBreakingPaymentProvider(limited, {
      timeoutMs: 100,
      errorThresholdPercent: 50,
      resetTimeoutMs: 150,
      volumeThreshold: 4,
    });
    try {
      await guarded.charge(chargeOf());
      for (let i = 0; i < 8; i++) {
        await expect(guarded.charge(chargeOf())).rejects.toBeInstanceOf(RateLimitedPaymentError);
      }
      expect(guarded.state).toBe('closed');
    } finally {
      guarded.shutdown();
      limited.close();
    }
  });

  it('counts timeouts as failures and reports them as transient', async () => {
    const slow = sut.charge(chargeOf('tok_slow'));
    await expect(slow).rejects.toMatchObject({ code: 'gateway_timeout' });
    await expect(slow).rejects.toBeInstanceOf(TransientPaymentError);
  });

  it('half-opens after the reset timeout and a successful probe closes it again', async () => {
    for (let i = 0; i < 4; i++) {
      await sut.charge(chargeOf('tok_transient_2')).catch(() => undefined);
    }
    expect(sut.state).toBe('open');
    await eventually(() => sut.state === 'half-open', { what: 'half-open' });
    expect(await gauge()).toBe(1);

    await expect(sut.charge(chargeOf('tok_success'))).resolves.toMatchObject({ status: 'SUCCEEDED' });
    expect(sut.state).toBe('closed');
    expect(await gauge()).toBe(0);
    const transitions = await registry.getSingleMetric('aop_circuit_breaker_transitions_total')!.get();
    expect(Object.fromEntries(transitions.values.map((v) => [v.labels.to, v.value]))).toEqual({
      open: 1,
      'half-open': 1,
      closed: 1,
    });
  });

  it('re-opens when the half-open probe fails', async () => {
    for (let i = 0; i < 4; i++) {
      await sut.charge(chargeOf('tok_transient_2')).catch(() => undefined);
    }
    await eventually(() => sut.state === 'half-open', { what: 'half-open' });
    await expect(sut.charge(chargeOf('tok_transient_2'))).rejects.toBeInstanceOf(TransientPaymentError);
    expect(sut.state).toBe('open');
  });
});
