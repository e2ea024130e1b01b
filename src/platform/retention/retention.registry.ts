import { Injectable } from '@nestjs/common';

/**
 * One retention of one table: a module that owns the table owns the statement (docs/boundaries.md) and
 * contributes the rule; the pruner in platform only runs the rules it is given.
 *
 * Extension point: a new table's retention is one `registry.register(...)` in its module, e.g. the
 * webhook deliveries' `{ table: 'webhook_deliveries', pruneBatch: (n) => repo.pruneAttempts(days, n) }`.
 */
export interface RetentionRule {
  /** The table it keeps in bounds; the `table` label of `aop_pruned_rows_total`. */
  readonly table: string;
  /** Deletes (or compacts) at most `limit` expired rows in one short statement; returns how many. */
  pruneBatch(limit: number): Promise<number>;
}

/** The rules the retention pruner runs, contributed by the modules that own the tables. */
@Injectable()
export class RetentionRegistry {
  private readonly rules = new Map<string, RetentionRule>();

  register(rule: RetentionRule): void {
    if (this.rules.has(rule.table)) {
      throw new Error(`A retention rule for ${rule.table} is already registered`);
    }
    this.rules.set(rule.table, rule);
  }

  all(): RetentionRule[] {
    return [...this.rules.values()];
  }
}
