import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { MetricsService } from '../metrics/metrics.service';
import { PeriodicTask } from '../scheduling/periodic-task';
import { RetentionRegistry } from './retention.registry';

/** Batches one rule may run per pass: a backlog is worked off over several passes, never in one long run. */
export const MAX_BATCHES_PER_RULE = 100;

/**
 * Worker role: every RETENTION_PRUNE_INTERVAL_MS runs each registered retention rule in batches of
 * RETENTION_PRUNE_BATCH_SIZE until it has nothing left (or MAX_BATCHES_PER_RULE), then samples the size
 * of every table. Several workers may run it: the rules' statements claim rows with SKIP LOCKED.
 */
@Injectable()
export class RetentionPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionPruner.name);
  private readonly pruned: Counter<'table'>;
  private readonly tableBytes: Gauge<'table'>;
  private readonly task: PeriodicTask;

  constructor(
    private readonly registry: RetentionRegistry,
    private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.pruned = new Counter({
      name: 'aop_pruned_rows_total',
      help: 'Rows deleted or compacted by the retention pruner, per table',
      labelNames: ['table'],
      registers: [metrics.registry],
    });
    this.tableBytes = new Gauge({
      name: 'aop_table_bytes',
      help: 'On-disk size of each table with its indexes and TOAST, sampled after each retention pass',
      labelNames: ['table'],
      registers: [metrics.registry],
    });
    this.task = new PeriodicTask({
      name: 'retention pruning',
      intervalMs: config.retention.pruneIntervalMs,
      run: () => this.pruneNow(),
      logger: this.logger,
    });
  }

  onApplicationBootstrap(): void {
    for (const rule of this.registry.all()) {
      // Counters start at 0, so a rate() sees the first pruned rows.
      this.pruned.inc({ table: rule.table }, 0);
    }
    if (runsWorkers(this.config)) {
      this.task.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /** One pass over every rule; returns the rows each one pruned. A failing rule does not stop the others. */
  async pruneNow(): Promise<Record<string, number>> {
    const { batchSize } = this.config.retention;
    const result: Record<string, number> = {};
    let failed: Error | undefined;
    for (const rule of this.registry.all()) {
      let total = 0;
      try {
        for (let batch = 0; batch < MAX_BATCHES_PER_RULE && !this.task.isStopping; batch++) {
          const count = await rule.pruneBatch(batchSize);
          total += count;
          if (count < batchSize) {
            break;
          }
        }
      } catch (error) {
        failed = error as Error;
        this.logger.warn(
          { table: rule.table, err: failed.message },
          'retention rule failed; next pass retries',
        );
      }
      this.pruned.inc({ table: rule.table }, total);
      result[rule.table] = total;
    }
    await this.sampleTableSizes();
    const busy = Object.entries(result).filter(([, n]) => n > 0);
    if (busy.length > 0) {
      this.logger.log({ pruned: Object.fromEntries(busy) }, 'retention pass');
    }
    if (failed) {
      throw failed;
    }
    return result;
  }

  /** Reads sizes from the catalogue (no table is scanned). */
  private async sampleTableSizes(): Promise<void> {
    const rows = await this.dataSource.query<{ table: string; bytes: string }[]>(
      `SELECT c.relname AS table, pg_total_relation_size(c.oid)::text AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND NOT c.relispartition`,
    );
    for (const row of rows) {
      this.tableBytes.set({ table: row.table }, Number(row.bytes));
    }
  }
}
