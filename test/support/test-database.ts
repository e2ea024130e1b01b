import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DEFAULT_DATABASE_URL } from '../../src/config/config';

/** The server the tests use: TEST_DATABASE_URL, else DATABASE_URL, else the default; the database name is replaced. */
export function testServerUrl(): string {
  return process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
}

export function databaseUrlFor(name: string, server = testServerUrl()): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** Through PgBouncer (npm run test:pgbouncer), DROP DATABASE goes to the direct server. */
export async function dropDatabase(url: string): Promise<void> {
  const target = new URL(process.env.DATABASE_DIRECT_URL ?? url);
  target.pathname = new URL(url).pathname;
  const name = target.pathname.slice(1);
  target.pathname = '/postgres';
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
