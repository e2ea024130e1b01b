/**
 * `node dist/migrate.js`: the production image's migration step (ops/k8s/migrate-job.yaml). Creates the database if
 * missing, applies pending migrations and seeds (admin, demo catalogue when SEED_DEMO), then exits; the dev-time
 * equivalent is `npm run db:migrate`. Safe beside starting pods: the same advisory lock serialises them.
 */
import 'reflect-metadata';
import { prepareDatabase } from './bootstrap';
import { loadConfigFromEnvironment } from './config/environment';

prepareDatabase(loadConfigFromEnvironment()).then(
  ({ created, migrations }) => {
    const applied = migrations.join(', ') || 'nothing (up to date)';
    process.stdout.write(`database ${created ? 'created' : 'exists'}; applied: ${applied}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  },
);
