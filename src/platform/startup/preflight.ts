import { createServer } from 'node:net';
import { AppConfig, RedisConfig, RedisNode, redactUrl } from '../../config/config';
import { ensureDatabaseExists } from '../database/database-bootstrap';
import { createRedisConnection, formatNode, RedisClient } from '../redis/redis-connection';

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

/**
 * Redis answers in the configured mode: the server behind REDIS_URL; a sentinel of REDIS_SENTINELS that
 * knows the master (and the master itself); a seed of REDIS_CLUSTER_NODES that is in cluster mode with
 * every slot served. Each failure is one line naming the variable and the reason.
 */
export async function checkRedis(config: AppConfig): Promise<void> {
  switch (config.redis.mode) {
    case 'standalone':
      return checkStandalone(config);
    case 'sentinel':
      return checkSentinel(config);
    case 'cluster':
      return checkCluster(config);
  }
}

async function checkStandalone(config: AppConfig): Promise<void> {
  const url = redactUrl(config.redis.url);
  try {
    await probe(config, config.redis, (client) => client.ping());
  } catch (error) {
    throw new StartupError(
      `Redis is unreachable at ${url} (${reasonOf(error)}). Start it (e.g. \`redis-server --daemonize yes\` or \`docker compose up -d redis\`) or point REDIS_URL at a running server.`,
    );
  }
}

async function checkSentinel(config: AppConfig): Promise<void> {
  const { sentinels, sentinelMaster, sentinelPassword } = config.redis;
  const answers = await Promise.all(
    sentinels.map(async (node) => {
      const asSentinel = {
        ...config.redis,
        mode: 'standalone' as const,
        url: nodeUrl(node, sentinelPassword),
      };
      try {
        const address = await probe(config, asSentinel, (client) =>
          client.call('SENTINEL', 'get-master-addr-by-name', sentinelMaster),
        );
        return { node, address: address as string[] | null };
      } catch (error) {
        return { node, error: reasonOf(error) };
      }
    }),
  );
  const reachable = answers.filter((a) => !('error' in a));
  if (reachable.length === 0) {
    const reasons = answers.map((a) => `${formatNode(a.node)} ${'error' in a ? a.error : ''}`).join(', ');
    throw new StartupError(
      `REDIS_SENTINELS: no sentinel answered (${reasons}). Start them (e.g. \`npm run topology -- sentinel up\`) or fix the list.`,
    );
  }
  if (!reachable.some((a) => Array.isArray(a.address) && a.address.length === 2)) {
    throw new StartupError(
      `REDIS_SENTINEL_MASTER="${sentinelMaster}" is not a master the sentinels in REDIS_SENTINELS monitor (asked ${reachable.map((a) => formatNode(a.node)).join(', ')}).`,
    );
  }
  try {
    await probe(config, config.redis, (client) => client.ping());
  } catch (error) {
    throw new StartupError(
      `REDIS_SENTINELS: the master "${sentinelMaster}" they name does not answer (${reasonOf(error)}); check it and REDIS_PASSWORD.`,
    );
  }
}

async function checkCluster(config: AppConfig): Promise<void> {
  const answers = await Promise.all(
    config.redis.clusterNodes.map(
      async (node): Promise<{ node: RedisNode; info?: string; error?: string }> => {
        const asNode = {
          ...config.redis,
          mode: 'standalone' as const,
          url: nodeUrl(node, config.redis.password),
        };
        try {
          return {
            node,
            info: String(await probe(config, asNode, (client) => client.call('CLUSTER', 'INFO'))),
          };
        } catch (error) {
          const message = (error as Error).message ?? '';
          return { node, error: message.startsWith('ERR') ? message : reasonOf(error) };
        }
      },
    ),
  );
  const notCluster = answers.find((a) => /cluster support disabled/i.test(a.error ?? ''));
  if (notCluster) {
    throw new StartupError(
      `REDIS_CLUSTER_NODES: ${formatNode(notCluster.node)} is not in cluster mode (cluster support disabled); list cluster nodes, or use REDIS_URL for a standalone server.`,
    );
  }
  if (!answers.some((a) => /cluster_state:ok/.test(a.info ?? ''))) {
    const reasons = answers
      .map((a) => `${formatNode(a.node)} ${a.error ?? /cluster_state:\w+/.exec(a.info ?? '')?.[0] ?? ''}`)
      .join(', ');
    throw new StartupError(
      `REDIS_CLUSTER_NODES: no seed node reports a working cluster (${reasons}). Start it (e.g. \`npm run topology -- cluster up\`) or fix the list.`,
    );
  }
}

function nodeUrl(node: RedisNode, password: string | undefined): string {
  const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
  return `redis://${auth}${formatNode(node)}`;
}

/** One connection attempt with no reconnects, bounded by STARTUP_CONNECT_TIMEOUT_MS. */
async function probe<T>(
  config: AppConfig,
  redis: RedisConfig,
  run: (client: RedisClient) => Promise<T>,
): Promise<T> {
  const client = createRedisConnection(redis, 'probe', {
    lazyConnect: true,
    connectTimeoutMs: config.startup.connectTimeoutMs,
  });
  let lastError: unknown;
  client.on('error', (error) => {
    lastError = error;
  });
  try {
    return await withDeadline(
      client.connect().then(() => run(client)),
      config.startup.connectTimeoutMs + 500,
    );
  } catch (error) {
    // The connection's own error says why (ECONNREFUSED), where the command's says only "closed".
    throw (error as Error).message?.startsWith('ERR') ? error : (lastError ?? error);
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
