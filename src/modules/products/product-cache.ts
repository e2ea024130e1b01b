import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { RedisService } from '../../platform/redis/redis.service';

export type CacheName = 'product' | 'product_list';

/**
 * Cache-aside for products in Redis. Every key embeds the catalogue generation; a write replaces the
 * generation with a new random one after its commit, so from then on readers look up fresh keys, and
 * a reader that raced the write can only have filled a key of an old generation nobody reads again.
 * Redis trouble never fails a request: the cache answers "miss" and the database serves.
 */
@Injectable()
export class ProductCache {
  private readonly logger = new Logger(ProductCache.name);
  private readonly requests: Counter<'cache' | 'result'>;
  private lastWarnAt = 0;

  constructor(
    private readonly redis: RedisService,
    @InjectConfig() private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    const name = 'aop_cache_requests_total';
    this.requests =
      (metrics.registry.getSingleMetric(name) as Counter<'cache' | 'result'> | undefined) ??
      new Counter({
        name,
        help: 'Cache lookups by cache and result (hit, miss, error); hit ratio = hit / (hit + miss + error).',
        labelNames: ['cache', 'result'],
        registers: [metrics.registry],
      });
  }

  get enabled(): boolean {
    return this.config.catalogue.cacheTtlSeconds > 0;
  }

  /** Cache-aside: the cached value, or `load()`'s result stored under the generation read first. */
  async getOrLoad<T>(cache: CacheName, key: string, load: () => Promise<T>): Promise<T> {
    if (!this.enabled) {
      return load();
    }
    let fullKey: string;
    try {
      // The generation is read BEFORE the database, so a value loaded across a write lands in the old one.
      const generation = await this.currentGeneration();
      fullKey = this.redis.key('cache', cache, generation, key);
      const cached = await this.redis.client.get(fullKey);
      if (cached !== null) {
        this.requests.inc({ cache, result: 'hit' });
        return JSON.parse(cached) as T;
      }
    } catch (error) {
      this.requests.inc({ cache, result: 'error' });
      this.warn('read', error);
      return load();
    }
    this.requests.inc({ cache, result: 'miss' });
    const value = await load();
    if (value !== null && value !== undefined) {
      await this.redis.client
        .set(fullKey, JSON.stringify(value), 'EX', this.config.catalogue.cacheTtlSeconds)
        .catch((error: unknown) => this.warn('write', error));
    }
    return value;
  }

  /**
   * Makes every cached product and listing stale; called after a write commits and before it answers.
   * If Redis is unreachable right now, entries written before live at most PRODUCT_CACHE_TTL_SECONDS.
   */
  async invalidateAll(): Promise<void> {
    if (!this.enabled) {
      return;
    }
    try {
      await this.redis.client.set(this.generationKey(), newGeneration());
    } catch (error) {
      this.warn('invalidate', error);
    }
  }

  /** A missing generation (first start, eviction) gets a fresh random one: old keys never come back. */
  private async currentGeneration(): Promise<string> {
    const key = this.generationKey();
    const generation = await this.redis.client.get(key);
    if (generation !== null) {
      return generation;
    }
    await this.redis.client.set(key, newGeneration(), 'NX');
    return (await this.redis.client.get(key)) ?? newGeneration();
  }

  private generationKey(): string {
    return this.redis.key('cache', 'products', 'generation');
  }

  private warn(operation: string, error: unknown): void {
    // One line per 10 s: a Redis outage must not flood the logs on every request.
    if (Date.now() - this.lastWarnAt > 10_000) {
      this.lastWarnAt = Date.now();
      this.logger.warn(
        { err: (error as Error).message, operation },
        'product cache unavailable; serving from the database',
      );
    }
  }
}

const newGeneration = (): string => randomUUID();
