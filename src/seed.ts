import { DataSource } from 'typeorm';
import { AppConfig } from './config/config';
import { seedDemoCatalogue } from './modules/products/demo-catalogue.seed';
import { seedAdmin } from './modules/users/admin.seed';

const SEED_LOCK = 727_002;

/**
 * Creates the admin when missing and, with SEED_DEMO, a demo catalogue in an empty database; each
 * module seeds what it owns. Idempotent, and safe from several processes at once (one advisory lock).
 */
export async function seedDatabase(
  dataSource: DataSource,
  config: AppConfig,
  log: (message: string) => void = () => undefined,
): Promise<void> {
  await dataSource.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK]);
    await seedAdmin(tx, config.admin, log);
    if (config.seed.demo) {
      await seedDemoCatalogue(tx, log);
    }
  });
}
