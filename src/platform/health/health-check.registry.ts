import { Injectable } from '@nestjs/common';
import { HealthIndicatorFunction } from '@nestjs/terminus';

/**
 * Probes that feature modules add to /health/detailed (queues, outbox backlog, circuit breaker...).
 * Modules register here, so the health controller never imports them.
 */
@Injectable()
export class HealthCheckRegistry {
  private readonly checks = new Map<string, HealthIndicatorFunction>();

  register(name: string, check: HealthIndicatorFunction): void {
    this.checks.set(name, check);
  }

  detailedChecks(): HealthIndicatorFunction[] {
    return [...this.checks.values()];
  }
}
