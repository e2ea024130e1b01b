import { DataSource, EntityManager } from 'typeorm';
import {
  INVARIANT_CHECKS,
  InvariantCheck,
  InvariantGroup,
  InvariantSeverity,
  SETTLED,
} from './invariant-checks';

export interface InvariantOptions {
  recoveryWindowSeconds: number;
  outboxLagSeconds: number;
  outboxRetentionHours: number;
  /** An OPEN dead letter older than this needs an operator (attention). */
  deadLetterAgeSeconds: number;
  /** Offending rows kept per check; the count is always exact. */
  sampleRows: number;
  /** A webhook event older than this must have its delivery outcomes (0, the default: at once). */
  webhookHorizonSeconds?: number;
}

export interface InvariantResult {
  name: string;
  group: InvariantGroup;
  severity: InvariantSeverity;
  description: string;
  count: number;
  rows: Record<string, unknown>[];
}

export interface InvariantReport {
  ok: boolean;
  checkedAt: string;
  durationMs: number;
  /** Broken promises, summed over the violation checks. */
  violations: number;
  /** Rows waiting for an operator (attention checks); never make the report fail. */
  attention: number;
  options: InvariantOptions;
  checks: InvariantResult[];
}

/** Turns `:name` placeholders into `$n` in order of first use, so each query binds only what it reads. */
function bind(sql: string, values: Record<string, unknown>): { text: string; params: unknown[] } {
  const order: string[] = [];
  const text = sql.replace(/(?<!:):([a-z]+)/g, (_match, name: string) => {
    if (!(name in values)) {
      throw new Error(`invariant SQL uses an unknown parameter :${name}`);
    }
    if (!order.includes(name)) {
      order.push(name);
    }
    return `$${order.indexOf(name) + 1}`;
  });
  return { text, params: order.map((name) => values[name]) };
}

/**
 * Runs every invariant check in one read-only REPEATABLE READ transaction, so all checks see the
 * same snapshot (a write committing mid-run cannot look like a broken promise). Plain class: the
 * HTTP endpoint, the worker's periodic run and the CLI share it.
 */
export class InvariantChecker {
  constructor(
    private readonly dataSource: DataSource,
    private readonly options: InvariantOptions,
    private readonly checks: readonly InvariantCheck[] = INVARIANT_CHECKS,
  ) {}

  /** With `manager`, runs inside the caller's transaction (tests that corrupt data and roll back). */
  async run(manager?: EntityManager): Promise<InvariantReport> {
    const started = performance.now();
    const results = manager
      ? await this.runAll(manager)
      : await this.dataSource.transaction('REPEATABLE READ', async (tx) => {
          await tx.query('SET TRANSACTION READ ONLY');
          return this.runAll(tx);
        });
    const violations = sum(results.filter((r) => r.severity === 'violation'));
    return {
      ok: violations === 0,
      checkedAt: new Date().toISOString(),
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      violations,
      attention: sum(results.filter((r) => r.severity === 'attention')),
      options: this.options,
      checks: results,
    };
  }

  private async runAll(tx: EntityManager): Promise<InvariantResult[]> {
    const values = {
      window: this.options.recoveryWindowSeconds,
      lag: this.options.outboxLagSeconds,
      retention: this.options.outboxRetentionHours,
      deadletterage: this.options.deadLetterAgeSeconds,
      horizon: this.options.webhookHorizonSeconds ?? 0,
      settled: SETTLED,
    };
    const results: InvariantResult[] = [];
    for (const check of this.checks) {
      const { text, params } = bind(check.sql, values);
      // The window count is taken before LIMIT: an exact total beside a bounded sample, in one query.
      const rows = await tx.query<Record<string, unknown>[]>(
        `SELECT v.*, count(*) OVER () AS "__total" FROM (${text}) v LIMIT $${params.length + 1}`,
        [...params, this.options.sampleRows],
      );
      results.push({
        name: check.name,
        group: check.group,
        severity: check.severity,
        description: check.description,
        count: rows.length === 0 ? 0 : Number(rows[0].__total),
        rows: rows.map(({ __total: _total, ...row }) => row),
      });
    }
    return results;
  }
}

function sum(results: InvariantResult[]): number {
  return results.reduce((total, r) => total + r.count, 0);
}
