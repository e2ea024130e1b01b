import { createServer, Server } from 'node:net';
import { loadConfig } from '../../config/config';
import { checkRedis, StartupError } from './preflight';

/** A port nothing listens on: bound, then closed. */
async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function configWith(env: Record<string, string>) {
  return loadConfig({ ...process.env, REDIS_URL: '', STARTUP_CONNECT_TIMEOUT_MS: '1000', ...env });
}

async function failure(env: Record<string, string>): Promise<{ message: string; ms: number }> {
  const started = performance.now();
  try {
    await checkRedis(configWith(env));
  } catch (error) {
    expect(error).toBeInstanceOf(StartupError);
    return { message: (error as Error).message, ms: performance.now() - started };
  }
  throw new Error('checkRedis accepted the configuration');
}

describe(checkRedis.name, () => {
  const sharedRedis = new URL(loadConfig(process.env).redis.url);
  const shared = `${sharedRedis.hostname}:${sharedRedis.port || 6379}`;

  it('passes on the standalone server of REDIS_URL', async () => {
    await expect(checkRedis(loadConfig(process.env))).resolves.toBeUndefined();
  });

  it('stops within seconds when no sentinel of REDIS_SENTINELS answers, naming each', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const sut = await failure({ REDIS_SENTINELS: `127.0.0.1:${a},127.0.0.1:${b}` });
    expect(sut.message).toBe(
      `REDIS_SENTINELS: no sentinel answered (127.0.0.1:${a} ECONNREFUSED, 127.0.0.1:${b} ECONNREFUSED). Start them (e.g. \`npm run topology -- sentinel up\`) or fix the list.`,
    );
    expect(sut.ms).toBeLessThan(5000);
  });

  it('refuses a plain Redis given as a sentinel (it watches no master)', async () => {
    const sut = await failure({ REDIS_SENTINELS: shared });
    expect(sut.message).toMatch(/^REDIS_SENTINELS: no sentinel answered \(.*ERR unknown command/);
  });

  it('refuses a cluster seed that is not in cluster mode', async () => {
    const sut = await failure({ REDIS_CLUSTER_NODES: shared });
    expect(sut.message).toBe(
      `REDIS_CLUSTER_NODES: ${shared} is not in cluster mode (cluster support disabled); list cluster nodes, or use REDIS_URL for a standalone server.`,
    );
  });

  it('stops within seconds when no cluster seed answers', async () => {
    const port = await freePort();
    const sut = await failure({ REDIS_CLUSTER_NODES: `127.0.0.1:${port}` });
    expect(sut.message).toMatch(
      new RegExp(
        `^REDIS_CLUSTER_NODES: no seed node reports a working cluster \\(127\\.0\\.0\\.1:${port} ECONNREFUSED\\)`,
      ),
    );
    expect(sut.ms).toBeLessThan(5000);
  });
});
