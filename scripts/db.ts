/**
 * Database tasks: `migrate` (create the database if missing, apply pending migrations),
 * `revert` (undo the last migration), `seed` (admin + demo catalogue), `create <Name>` (new migration file).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { prepareDatabase } from '../src/bootstrap';
import { loadConfigFromEnvironment } from '../src/config/environment';
import { createDataSource } from '../src/platform/database/data-source';
import { seedDatabase } from '../src/seed';
import { checkPostgres } from '../src/platform/startup/preflight';

async function main(): Promise<void> {
  const [command, name] = process.argv.slice(2);
  const config = loadConfigFromEnvironment();
  switch (command) {
    case 'migrate': {
      const { created, migrations } = await prepareDatabase({ ...config, seed: { demo: false } });
      console.log(
        `database ${created ? 'created' : 'exists'}; applied: ${migrations.join(', ') || 'nothing (up to date)'}`,
      );
      return;
    }
    case 'revert': {
      const dataSource = await createDataSource({
        database: { ...config.database, url: config.database.directUrl },
      }).initialize();
      await dataSource.undoLastMigration({ transaction: 'each' });
      await dataSource.destroy();
      console.log('reverted the last migration');
      return;
    }
    case 'seed': {
      await checkPostgres(config);
      const dataSource = await createDataSource(config).initialize();
      await seedDatabase(dataSource, config, (message) => console.log(message));
      await dataSource.destroy();
      return;
    }
    case 'create': {
      if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
        throw new Error('usage: npm run db:migration:create -- PascalCaseName');
      }
      const timestamp = Date.now();
      const file = resolve(__dirname, `../src/platform/database/migrations/${timestamp}-${name}.ts`);
      writeFileSync(
        file,
        `import { MigrationInterface, QueryRunner } from 'typeorm';\n\nexport class ${name}${timestamp} implements MigrationInterface {\n  name = '${name}${timestamp}';\n\n  async up(q: QueryRunner): Promise<void> {\n    await q.query('');\n  }\n\n  async down(q: QueryRunner): Promise<void> {\n    await q.query('');\n  }\n}\n`,
      );
      console.log(`created ${file}\nregister it in src/platform/database/migrations.ts`);
      return;
    }
    default:
      throw new Error('usage: scripts/db.ts migrate | revert | seed | create <Name>');
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
