import { CanActivate, ExecutionContext, HttpException, HttpStatus, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Counter } from 'prom-client';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { withTimeout } from '../../platform/queue/with-timeout';
import { RedisService } from '../../platform/redis/redis.service';
import { AuthenticatedRequest } from './auth.decorators';
import { identifyCaller } from './auth.guard';
import { FIXED_WINDOW_HIT } from './redis-script';
import { TokenService } from './token.service';

const WINDOW_MS = 60_000;

/**
 * The global request budget: RATE_LIMIT_PER_MINUTE per authenticated user, per client IP otherwise
 * (`request.ip` honours X-Forwarded-For only with TRUST_PROXY). A fixed one-minute window in Redis (it
 * starts at the subject's first request), so it holds across API instances. Fails open: a Redis outage must never stop the API taking orders.
 * Registered before AuthGuard, so requests with bad tokens are counted too.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly logger = new Logger(RateLimitGuard.name);
  private readonly rejections: Counter<'scope'>;
  private lastFailureLoggedAt = 0;
  /** Until then requests pass without asking the store: it just failed or hung (a black-holed Redis). */
  private storeSkippedUntil = 0;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly tokens: TokenService,
    metrics: MetricsService,
  ) {
    this.rejections = new Counter({
      name: 'aop_rate_limit_rejections_total',
      help: 'Requests answered 429 by the global rate limit',
      labelNames: ['scope'],
      registers: [metrics.registry],
    });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limit = this.config.rateLimit.perMinute;
    if (limit === 0 || context.getType() !== 'http') {
      return true;
    }
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const { user } = identifyCaller(request, this.tokens);
    const scope = user ? 'user' : 'ip';
    const subject = user ? user.id : request.ip;

    if (Date.now() < this.storeSkippedUntil) {
      return true;
    }
    let count: number;
    let ttlMs: number;
    try {
      const key = this.redis.key('ratelimit', scope, subject);
      [count, ttlMs] = (await withTimeout(
        FIXED_WINDOW_HIT.run(this.redis.client, [key], [WINDOW_MS]),
        this.config.rateLimit.storeTimeoutMs,
        'rate limit store',
      )) as [number, number];
    } catch (error) {
      // One slow or failed call, not every request, pays for an outage: the next ones skip the store.
      this.storeSkippedUntil = Date.now() + this.config.rateLimit.storeRetryMs;
      this.logFailOpen(error);
      return true;
    }

    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const resetSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    void reply.header('ratelimit-limit', String(limit));
    void reply.header('ratelimit-remaining', String(Math.max(0, limit - count)));
    void reply.header('ratelimit-reset', String(resetSeconds));
    if (count > limit) {
      this.rejections.inc({ scope });
      throw new HttpException(
        {
          detail: `Too many requests: at most ${limit} per minute. Retry after ${resetSeconds} s.`,
          code: 'RATE_LIMITED',
          retryAfter: resetSeconds,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    return true;
  }

  private logFailOpen(error: unknown): void {
    if (Date.now() - this.lastFailureLoggedAt > 10_000) {
      this.lastFailureLoggedAt = Date.now();
      this.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'Rate limit store unavailable; letting requests through (fail open)',
      );
    }
  }
}
