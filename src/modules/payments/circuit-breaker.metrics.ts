import { Counter, Gauge, Registry } from 'prom-client';
import {
  CIRCUIT_STATE_VALUE,
  CircuitBreakingPaymentProvider,
  CircuitState,
} from './circuit-breaking-payment-provider';

/** Exposes each breaker's state as a gauge and counts its transitions. */
export class CircuitBreakerMetrics {
  private readonly state: Gauge<'breaker'>;
  private readonly transitions: Counter<'breaker' | 'to'>;

  constructor(registry: Registry) {
    this.state = new Gauge({
      name: 'aop_circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['breaker'],
      registers: [registry],
    });
    this.transitions = new Counter({
      name: 'aop_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by the state entered',
      labelNames: ['breaker', 'to'],
      registers: [registry],
    });
  }

  track(provider: CircuitBreakingPaymentProvider): void {
    const name = provider.breakerName;
    const enter = (to: CircuitState) => {
      this.state.set({ breaker: name }, CIRCUIT_STATE_VALUE[to]);
      this.transitions.inc({ breaker: name, to });
    };
    this.state.set({ breaker: name }, CIRCUIT_STATE_VALUE[provider.state]);
    provider.breaker.on('open', () => enter('open'));
    provider.breaker.on('halfOpen', () => enter('half-open'));
    provider.breaker.on('close', () => enter('closed'));
  }
}
