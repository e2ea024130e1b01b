import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { statfs } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { poolStats } from '../database/pool-stats';
import { RedisService } from '../redis/redis.service';

const PROBE_TIMEOUT_MS = 1500;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The health probes. Each answers within PROBE_TIMEOUT_MS, so readiness never hangs on a dead dependency.
 * A threshold crossed while the thing still works is reported as `up` with `degraded: true`: it is
 * worth a look, not a reason to take the instance out of the load balancer.
 */
@Injectable()
export class HealthIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly dataSource: DataSource,
    private readonly redis: RedisService,
  ) {}

  async database(detailed = false): Promise<HealthIndicatorResult> {
    const session = this.health.check('database');
    const started = performance.now();
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), PROBE_TIMEOUT_MS, 'PostgreSQL');
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      return session.up(detailed ? { latencyMs, pool: poolStats(this.dataSource) ?? {} } : {});
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }

  /** Reports the mode (standalone, sentinel, cluster) and the data node the service talks to. */
  async redisPing(detailed = false): Promise<HealthIndicatorResult> {
    const session = this.health.check('redis');
    const started = performance.now();
    try {
      // A key of the service's own (not PING): in cluster mode it goes to the master holding its slot.
      await withTimeout(this.redis.client.exists(this.redis.key('health')), PROBE_TIMEOUT_MS, 'Redis');
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const where = this.redis.describe();
      if (!detailed) {
        return session.up({ mode: where.mode, node: where.node });
      }
      const info = await withTimeout(this.redis.client.info('memory'), PROBE_TIMEOUT_MS, 'Redis');
      const usedMemory = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
      return session.up({ ...where, latencyMs, usedMemoryBytes: usedMemory });
    } catch (error) {
      return session.down({ ...this.redis.describe(), message: (error as Error).message });
    }
  }

  memory(heapLimitBytes: number, rssLimitBytes: number): HealthIndicatorResult {
    const session = this.health.check('memory');
    const { heapUsed, rss } = process.memoryUsage();
    const data = { heapUsedBytes: heapUsed, rssBytes: rss, heapLimitBytes, rssLimitBytes };
    return session.up({ ...data, degraded: heapUsed > heapLimitBytes || rss > rssLimitBytes });
  }

  async disk(path: string, minFreeRatio: number): Promise<HealthIndicatorResult> {
    const session = this.health.check('disk');
    try {
      const stats = await statfs(path);
      const freeRatio = stats.bavail / stats.blocks;
      const data = {
        path,
        freeBytes: stats.bavail * stats.bsize,
        freeRatio: Math.round(freeRatio * 1000) / 1000,
      };
      return session.up({ ...data, degraded: freeRatio < minFreeRatio });
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }
}
