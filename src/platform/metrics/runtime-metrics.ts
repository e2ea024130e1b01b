import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { poolStats } from '../database/pool-stats';
import { RedisService } from '../redis/redis.service';
import { MetricsService } from './metrics.service';

/**
 * Runtime gauges beyond prom-client's defaults (which already include process CPU/RSS, heap, GC and
 * event-loop lag as `nodejs_eventloop_lag_*`). Values are read at scrape time from in-memory
 * counters, so a scrape costs no query and no Redis round trip.
 */
@Injectable()
export class RuntimeMetrics {
  constructor(metrics: MetricsService, dataSource: DataSource, redis: RedisService) {
    const registers = [metrics.registry];
    new Gauge({
      name: 'aop_db_pool_connections',
      help: 'PostgreSQL pool connections by state (in_use, idle) and the pool maximum (max).',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const stats = poolStats(dataSource);
        if (stats) {
          this.set({ state: 'in_use' }, stats.totalCount - stats.idleCount);
          this.set({ state: 'idle' }, stats.idleCount);
          this.set({ state: 'max' }, stats.max);
        }
      },
    });
    new Gauge({
      name: 'aop_db_pool_waiting_requests',
      help: 'Queries waiting for a free PostgreSQL pool connection.',
      registers,
      collect() {
        this.set(poolStats(dataSource)?.waitingCount ?? 0);
      },
    });
    new Gauge({
      name: 'aop_redis_connected',
      help: '1 when the shared Redis connection is ready, 0 while it is down or reconnecting.',
      registers,
      collect() {
        this.set(redis.client.status === 'ready' ? 1 : 0);
      },
    });
  }
}
