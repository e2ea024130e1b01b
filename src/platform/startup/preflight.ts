import { Redis } from 'ioredis';
import { AppConfig, redactUrl } from '../../config/config';
import { ensureDatabaseExists } from '../database/database-bootstrap';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  '57P03',
]);

/** A start-up failure the user can fix: printed as one line, no stack trace. */
export class StartupError extends Error {}

function reasonOf(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.code ?? e.message ?? String(error);
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Makes sure the database exists (creating it when missing). Returns whether it was created. */
export async function checkPostgres(config: AppConfig): Promise<boolean> {
  // Direct: a pooler serves only the databases it is configured with, not the maintenance one.
  const url = redactUrl(config.database.directUrl);
  const variable = config.database.directUrl === config.database.url ? 'DATABASE_URL' : 'DATABASE_DIRECT_URL';
  try {
    return await withDeadline(
      ensureDatabaseExists(config.database.directUrl, config.startup.connectTimeoutMs),
      config.startup.connectTimeoutMs + 500,
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '28P01' || code === '28000') {
      throw new StartupError(
        `PostgreSQL at ${url} refused the login (${reasonOf(error)}): check the user and password in ${variable}.`,
      );
    }
    if (code !== undefined && !UNREACHABLE.has(code)) {
      throw new StartupError(
        `PostgreSQL at ${url} refused to prepare the database: ${reasonOf(error)} ${(error as Error).message}`,
      );
    }
    throw new StartupError(
      `PostgreSQL is unreachable at ${url} (${reasonOf(error)}). Start it (e.g. \`pg_ctlcluster 15 main start\` or \`docker compose up -d postgres\`) or point ${variable} at a running server.`,
    );
  }
}

export async function checkRedis(config: AppConfig): Promise<void> {
  const url = redactUrl(config.redis.url);
  const client = new Redis(config.redis.url, {
    lazyConnect: true,
    connectTimeout: config.startup.connectTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: unknown;
  client.on('error', (error) => {
    lastError = error;
  });
  try {
    await withDeadline(
      client.connect().then(() => client.ping()),
      config.startup.connectTimeoutMs + 500,
    );
  } catch (error) {
    throw new StartupError(
      `Redis is unreachable at ${url} (${reasonOf(lastError ?? error)}). Start it (e.g. \`redis-server --daemonize yes\` or \`docker compose up -d redis\`) or point REDIS_URL at a running server.`,
    );
  } finally {
    client.disconnect();
  }
}
