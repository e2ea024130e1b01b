import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { OrderPaymentsController } from './order-payments.controller';
import { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { HealthCheckRegistry } from '../../platform/health/health-check.registry';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { randomSource } from '../../platform/random';
import { DataSource } from 'typeorm';
import { Counter, Gauge } from 'prom-client';
import { GatewayPacer } from './gateway-pacer';
import { PacedPaymentProvider } from './paced-payment-provider';
import { PostgresMockGatewayLedger } from './postgres-mock-gateway.ledger';
import { CircuitBreakerMetrics } from './circuit-breaker.metrics';
import { CircuitBreakingPaymentProvider } from './circuit-breaking-payment-provider';
import { MockPaymentGateway } from './mock-payment-gateway';
import { PaymentRepository } from './payment.repository';
import { PAYMENT_PROVIDER } from './payment-provider';
import { PaymentWebhookController } from './payment-webhook.controller';
import { PaymentWebhookService } from './payment-webhook.service';
import { PaymentsService } from './payments.service';
import { HttpWebhookSender } from './webhook-sender';

/** The mock gateway, configured from the environment (DESIGN §7). Swap this provider for a real one. */
function createMockGateway(config: AppConfig, dataSource: DataSource): MockPaymentGateway {
  const p = config.payment;
  return new MockPaymentGateway(
    {
      successRate: p.successRate,
      transientFailureRate: p.transientFailureRate,
      latencyMinMs: p.latencyMinMs,
      latencyMaxMs: p.latencyMaxMs,
      // tok_slow must outlast the breaker's timeout to exercise it.
      slowLatencyMs: p.breaker.timeoutMs * 2,
      fraudLimitUsd: p.fraudLimit,
      dropResponseRate: p.dropResponseRate,
      outageFile: p.outageFile,
      ratePerSecond: p.gatewayRatePerSecond,
      burst: p.gatewayBurst,
      bankTransferSettleMs: p.bankTransferSettleMs,
    },
    {
      random: randomSource(p.randomSeed),
      webhooks: new HttpWebhookSender({ url: p.webhookUrl, secret: p.webhookSecret }),
      // One gateway for every process: its books and idempotency keys live in a shared table.
      ledger: new PostgresMockGatewayLedger(dataSource),
    },
  );
}

function createBreakingProvider(
  gateway: MockPaymentGateway,
  config: AppConfig,
  metrics: MetricsService,
  health: HealthCheckRegistry,
): CircuitBreakingPaymentProvider {
  const provider = new CircuitBreakingPaymentProvider(gateway, config.payment.breaker);
  new CircuitBreakerMetrics(metrics.registry).track(provider);
  health.register('paymentGateway', async () => ({
    paymentGateway: {
      // An open breaker means we consider the gateway down; half-open is a recovery in progress.
      status: provider.state === 'open' ? 'down' : 'up',
      breaker: provider.state,
      ...(provider.state === 'half-open' ? { degraded: true } : {}),
    },
  }));
  return provider;
}

/** The breaker-guarded gateway called at the pace it accepts; exported as PAYMENT_PROVIDER. */
function createPacedProvider(
  breaking: CircuitBreakingPaymentProvider,
  config: AppConfig,
  metrics: MetricsService,
): PacedPaymentProvider {
  const pacer = new GatewayPacer({ maxWaitMs: config.payment.paceMaxWaitMs, minRatePerSecond: 1 });
  const rateLimited = new Counter({
    name: 'aop_payment_gateway_rate_limited_total',
    help: 'Gateway calls answered 429 (too many requests); each slows the pace instead of failing the job',
    registers: [metrics.registry],
  });
  new Gauge({
    name: 'aop_payment_gateway_pace',
    help: 'Gateway calls per second this process allows itself, learnt from 429s (0: no limit seen yet)',
    registers: [metrics.registry],
    collect() {
      this.set(Number.isFinite(pacer.ratePerSecond) ? pacer.ratePerSecond : 0);
    },
  });
  return new PacedPaymentProvider(breaking, pacer, config.payment.paceMaxWaitMs, undefined, () =>
    rateLimited.inc(),
  );
}

@Module({
  controllers: [PaymentWebhookController, OrderPaymentsController],
  providers: [
    { provide: MockPaymentGateway, inject: [APP_CONFIG, DataSource], useFactory: createMockGateway },
    {
      provide: CircuitBreakingPaymentProvider,
      inject: [MockPaymentGateway, APP_CONFIG, MetricsService, HealthCheckRegistry],
      useFactory: createBreakingProvider,
    },
    {
      provide: PacedPaymentProvider,
      inject: [CircuitBreakingPaymentProvider, APP_CONFIG, MetricsService],
      useFactory: createPacedProvider,
    },
    { provide: PAYMENT_PROVIDER, useExisting: PacedPaymentProvider },
    PaymentRepository,
    PaymentsService,
    PaymentWebhookService,
  ],
  exports: [PaymentsService, PAYMENT_PROVIDER],
})
export class PaymentsModule implements OnApplicationShutdown {
  constructor(
    @Inject(MockPaymentGateway) private readonly gateway: MockPaymentGateway,
    @Inject(CircuitBreakingPaymentProvider) private readonly provider: CircuitBreakingPaymentProvider,
  ) {}

  onApplicationShutdown(): void {
    this.gateway.close();
    this.provider.shutdown();
  }
}
