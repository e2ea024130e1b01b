import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { HealthCheckRegistry } from '../../platform/health/health-check.registry';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { randomSource } from '../../platform/random';
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
function createMockGateway(config: AppConfig): MockPaymentGateway {
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

@Module({
  controllers: [PaymentWebhookController],
  providers: [
    { provide: MockPaymentGateway, inject: [APP_CONFIG], useFactory: createMockGateway },
    {
      provide: CircuitBreakingPaymentProvider,
      inject: [MockPaymentGateway, APP_CONFIG, MetricsService, HealthCheckRegistry],
      useFactory: createBreakingProvider,
    },
    { provide: PAYMENT_PROVIDER, useExisting: CircuitBreakingPaymentProvider },
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
