import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { AttemptOutcome } from './webhook-http-client';

/** The webhook metrics (docs/webhooks.md, ops/prometheus/alerts.yml `WebhookBacklogGrowing`). */
@Injectable()
export class WebhookMetrics {
  readonly attempts: Counter<'outcome'>;
  readonly deliveries: Counter<'outcome'>;
  readonly attemptDuration: Histogram<'outcome'>;
  readonly endpointsDisabled: Counter<'reason'>;
  readonly backlog: Gauge;
  readonly oldestDueAge: Gauge;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.attempts = new Counter({
      name: 'aop_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome: success, gone (410), http_error, timeout, network_error, blocked (SSRF), unsigned (secret unreadable)',
      labelNames: ['outcome'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'aop_webhook_deliveries_total',
      help: 'Webhook deliveries that reached a final outcome: succeeded, failed (retries exhausted or 410), discarded',
      labelNames: ['outcome'],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'aop_webhook_attempt_duration_seconds',
      help: 'Duration of one webhook delivery attempt, by outcome',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.endpointsDisabled = new Counter({
      name: 'aop_webhook_endpoints_disabled_total',
      help: 'Webhook endpoints disabled automatically: gone (the receiver answered 410) or failing (continuously)',
      labelNames: ['reason'],
      registers,
    });
    this.backlog = new Gauge({
      name: 'aop_webhook_backlog_deliveries',
      help: 'Webhook deliveries whose attempt is due and not yet made (sampled by the dispatcher)',
      registers,
    });
    this.oldestDueAge = new Gauge({
      name: 'aop_webhook_oldest_due_age_seconds',
      help: 'How long the oldest due webhook delivery has waited for its attempt (sampled)',
      registers,
    });
  }

  attempt(outcome: AttemptOutcome, latencyMs: number): void {
    this.attempts.inc({ outcome });
    this.attemptDuration.observe({ outcome }, latencyMs / 1000);
  }
}
