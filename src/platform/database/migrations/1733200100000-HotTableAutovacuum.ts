import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Autovacuum per hot-update table. PostgreSQL's defaults wait for 20 % of a table to be dead before a
 * vacuum (10 % before an analyze): on a million-row orders table that is 200,000 dead tuples of bloat,
 * and on the few hot inventory rows, updated on every order, it is every index probe walking dead
 * versions. These tables are vacuumed by a fixed number of dead tuples instead, with a higher cost limit
 * so a vacuum finishes before the next one is due. Space left on each page (fillfactor) lets updates of
 * columns outside any index stay on the page (HOT) and skip index writes.
 */
const SETTINGS: Record<string, Record<string, number>> = {
  // Inserted, updated once (published), deleted by the pruner: the most churned table.
  outbox_events: {
    autovacuum_vacuum_scale_factor: 0.01,
    autovacuum_vacuum_threshold: 1000,
    autovacuum_vacuum_insert_scale_factor: 0.05,
    autovacuum_analyze_scale_factor: 0.02,
    autovacuum_vacuum_cost_limit: 2000,
  },
  // Updated after every step of every saga.
  saga_state: {
    autovacuum_vacuum_scale_factor: 0.02,
    autovacuum_vacuum_threshold: 1000,
    autovacuum_analyze_scale_factor: 0.05,
    autovacuum_vacuum_cost_limit: 2000,
    fillfactor: 85,
  },
  // Few rows, each updated on every reservation, confirmation and release: vacuum by count, not share.
  inventory: {
    autovacuum_vacuum_scale_factor: 0,
    autovacuum_vacuum_threshold: 500,
    autovacuum_analyze_scale_factor: 0.1,
    fillfactor: 70,
  },
  // Large and growing; each order is updated a few times on its way through the saga.
  orders: {
    autovacuum_vacuum_scale_factor: 0.02,
    autovacuum_vacuum_threshold: 1000,
    autovacuum_analyze_scale_factor: 0.02,
    autovacuum_vacuum_cost_limit: 2000,
    fillfactor: 90,
  },
};

export class HotTableAutovacuum1733200100000 implements MigrationInterface {
  name = 'HotTableAutovacuum1733200100000';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, settings] of Object.entries(SETTINGS)) {
      const list = Object.entries(settings).map(([key, value]) => `${key} = ${value}`);
      await q.query(`ALTER TABLE ${table} SET (${list.join(', ')})`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table, settings] of Object.entries(SETTINGS)) {
      await q.query(`ALTER TABLE ${table} RESET (${Object.keys(settings).join(', ')})`);
    }
  }
}

export const HOT_TABLE_AUTOVACUUM = SETTINGS;
