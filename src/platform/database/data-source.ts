import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { disablePreparedStatements } from './prepared';

/** The one DataSource factory: the app, the migration scripts and the tests all build it here. */
export function createDataSource(
  config: {
    database: Pick<AppConfig['database'], 'url' | 'poolSize'> &
      Partial<Pick<AppConfig['database'], 'preparedStatements'>>;
  },
  applicationName = 'async-order-processor',
): DataSource {
  const dataSource = new DataSource({
    type: 'postgres',
    url: config.database.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize: config.database.poolSize,
    connectTimeoutMS: 5000,
    // Numeric columns arrive as strings (exact money); bigint ids as strings too.
    extra: {
      application_name: applicationName,
      idleTimeoutMillis: 30_000,
      // Hot statements are prepared per connection (platform/database/prepared.ts), and a plan made
      // while a table was nearly empty (a fresh install) would be kept as it grows, where autovacuum
      // does not re-analyse it. Connections are renewed every 10 minutes, so plans are too.
      maxLifetimeSeconds: 600,
    },
    logging: false,
  });
  if (config.database.preparedStatements === false) {
    disablePreparedStatements(dataSource);
  }
  return dataSource;
}
