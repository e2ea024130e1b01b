import { Client } from 'pg';
import { DataSource } from 'typeorm';

/**
 * Creates the database named in the URL when it does not exist yet, by connecting to the server's
 * `postgres` maintenance database. A concurrent creator is not an error.
 */
export async function ensureDatabaseExists(url: string, connectTimeoutMs: number): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) {
    throw new Error('DATABASE_URL names no database');
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({
    connectionString: admin.toString(),
    connectionTimeoutMillis: connectTimeoutMs,
  });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) {
      return false;
    }
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return true;
    } catch (error) {
      // 42P04: it exists now; 23505: another process created it at the same moment.
      const code = (error as { code?: string }).code;
      if (code === '42P04' || code === '23505') {
        return false;
      }
      throw error;
    }
  } finally {
    await client.end();
  }
}

const MIGRATION_LOCK = 727_001;

/**
 * Runs pending migrations under an advisory lock, so that an api and a worker starting together
 * never race on the schema. Returns the names of the migrations it applied.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
