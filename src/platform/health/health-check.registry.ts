import { Injectable } from '@nestjs/common';
import { HealthIndicatorFunction } from '@nestjs/terminus';

/**
 * Probes that feature modules add to /health/detailed (queues, outbox backlog, circuit breaker...).
 * Modules register here, so the health controller never imports them.
 */
@Injectable()
export class HealthCheckRegistry {
  private readonly checks = new Map<string, HealthIndicatorFunction>();
  private readonly readiness = new Map<string, HealthIndicatorFunction>();

  /** `readiness: true` also adds the probe to /health/ready: keep those cheap and never `degraded`-only. */
  register(name: string, check: HealthIndicatorFunction, options: { readiness?: boolean } = {}): void {
    (options.readiness ? this.readiness : this.checks).set(name, check);
  }

  detailedChecks(): HealthIndicatorFunction[] {
    return [...this.readiness.values(), ...this.checks.values()];
  }

  readinessChecks(): HealthIndicatorFunction[] {
    return [...this.readiness.values()];
  }
}
