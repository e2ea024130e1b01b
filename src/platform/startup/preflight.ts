import { createServer } from 'node:net';
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
  const url = redactUrl(config.database.url);
  try {
    return await withDeadline(
      ensureDatabaseExists(config.database.url, config.startup.connectTimeoutMs),
      config.startup.connectTimeoutMs + 500,
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '28P01' || code === '28000') {
      throw new StartupError(
        `PostgreSQL at ${url} refused the login (${reasonOf(error)}): check the user and password in DATABASE_URL.`,
      );
    }
    if (code !== undefined && !UNREACHABLE.has(code)) {
      throw new StartupError(
        `PostgreSQL at ${url} refused to prepare the database: ${reasonOf(error)} ${(error as Error).message}`,
      );
    }
    throw new StartupError(
      `PostgreSQL is unreachable at ${url} (${reasonOf(error)}). Start it (e.g. \`pg_ctlcluster 15 main start\` or \`docker compose up -d postgres\`) or point DATABASE_URL at a running server.`,
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

/** EADDRINUSE/EACCES from a listen call, as the one line a user needs; anything else is returned as it was. */
export function listenFailure(error: unknown, config: AppConfig): unknown {
  const code = (error as { code?: string }).code;
  const where = `port ${config.http.port} on ${config.http.host}`;
  if (code === 'EADDRINUSE') {
    return new StartupError(`${where} is already in use: stop what holds it or set PORT to a free port`);
  }
  if (code === 'EACCES') {
    return new StartupError(`${where} may not be opened by this user: set PORT to 1024 or above`);
  }
  return error;
}

/**
 * Fails fast when the HTTP port is taken, before migrations and module start-up (which log "ready"-like
 * lines of their own). The real listen may still lose a race; it maps its error the same way.
 */
export async function checkPortFree(config: AppConfig): Promise<void> {
  if (config.http.port === 0) {
    return;
  }
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, resolve);
    });
  } catch (error) {
    throw listenFailure(error, config);
  }
  await new Promise((resolve) => server.close(resolve));
}
