import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { loadConfig } from '../../../src/config/config';
import { createRedisConnection, RedisClient } from '../../../src/platform/redis/redis-connection';

const run = promisify(execFile);
const SCRIPTS = join(__dirname, '..', '..', '..', 'scripts', 'topology');

/** Ports of this suite's own topologies: Redis 6390–6399 and 7010–7099, sentinels 26390–26399, nginx 8090–8099. */
function pick(base: number, slots: number, width: number): number {
  return base + width * Math.floor(Math.random() * slots);
}

/**
 * A topology of this test's own, started by the same scripts users run (`scripts/topology/*.sh`) into a
 * temporary directory on spare ports, so SIGKILLing its master leaves the shared Redis untouched.
 */
abstract class OwnTopology {
  readonly dir = mkdtempSync(join(tmpdir(), 'aop-chaos-topology-'));

  protected async script(name: string, args: string[], env: Record<string, string>): Promise<string> {
    const { stdout } = await run(join(SCRIPTS, name), args, {
      env: { ...process.env, TOPOLOGY_DIR: this.dir, ...env },
      timeout: 120_000,
    });
    return stdout;
  }

  /** SIGKILL of the redis-server on `port` (by the PID in its pid file), like a lost machine. */
  killNode(port: number): void {
    const pid = Number(readFileSync(this.pidFileOf(port), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
  }

  protected abstract pidFileOf(port: number): string;

  cleanUp(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A master, a replica and three sentinels (scripts/topology/sentinel.sh). */
export class OwnSentinel extends OwnTopology {
  readonly redisPort = pick(6390, 5, 2);
  readonly sentinelPort = pick(26390, 3, 3);
  readonly master = 'mymaster';
  private get scriptEnv(): Record<string, string> {
    return { SENTINEL_REDIS_PORT: String(this.redisPort), SENTINEL_PORT: String(this.sentinelPort) };
  }

  async up(): Promise<this> {
    await this.script('sentinel.sh', ['up'], this.scriptEnv);
    return this;
  }

  async down(): Promise<void> {
    await this.script('sentinel.sh', ['down'], this.scriptEnv).catch(() => undefined);
    this.cleanUp();
  }

  /** What a service process needs to use it (REDIS_URL emptied: exactly one mode). */
  get env(): Record<string, string> {
    const sentinels = [0, 1, 2].map((i) => `127.0.0.1:${this.sentinelPort + i}`).join(',');
    return {
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: '',
      REDIS_SENTINELS: sentinels,
      REDIS_SENTINEL_MASTER: this.master,
    };
  }

  /** The port of the master the sentinels name right now. */
  async masterPort(): Promise<number> {
    const sentinel = new Redis(this.sentinelPort, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    try {
      await sentinel.connect();
      const [, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', this.master)) as string[];
      return Number(port);
    } finally {
      sentinel.disconnect();
    }
  }

  protected pidFileOf(port: number): string {
    return join(this.dir, `sentinel-${this.redisPort}`, `redis-${port}`, 'redis.pid');
  }
}

/** Three masters and three replicas (scripts/topology/cluster.sh). */
export class OwnCluster extends OwnTopology {
  readonly basePort = pick(7010, 9, 10);
  private get scriptEnv(): Record<string, string> {
    return { CLUSTER_PORT: String(this.basePort) };
  }

  async up(): Promise<this> {
    await this.script('cluster.sh', ['up'], this.scriptEnv);
    return this;
  }

  async down(): Promise<void> {
    await this.script('cluster.sh', ['down'], this.scriptEnv).catch(() => undefined);
    this.cleanUp();
  }

  get seeds(): string {
    return [0, 1, 2].map((i) => `127.0.0.1:${this.basePort + i}`).join(',');
  }

  get env(): Record<string, string> {
    return { REDIS_URL: '', REDIS_SENTINELS: '', REDIS_CLUSTER_NODES: this.seeds };
  }

  /** A connection of the test's own, made by the service's factory. */
  connect(): RedisClient {
    return createRedisConnection(loadConfig({ ...this.env, NODE_ENV: 'test' }).redis, 'blocking');
  }

  /** `port → role` and which slots each master serves, as the cluster itself reports it now. */
  async nodes(): Promise<{ port: number; master: boolean; failed: boolean; slots: [number, number][] }[]> {
    const redis = new Redis(this.basePort + 3, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const text = (await redis.call('CLUSTER', 'NODES')) as string;
      return text
        .trim()
        .split('\n')
        .map((line) => {
          const [, address, flags, , , , , , ...slots] = line.split(' ');
          return {
            port: Number(address.split('@')[0].split(':')[1]),
            master: flags.includes('master'),
            failed: flags.includes('fail'),
            slots: slots
              .filter((s) => !s.startsWith('['))
              .map((s) => s.split('-').map(Number))
              .map(([from, to]) => [from, to ?? from] as [number, number]),
          };
        });
    } finally {
      redis.disconnect();
    }
  }

  /** The master serving `slot` right now. */
  async masterOf(slot: number): Promise<number> {
    const owner = (await this.nodes()).find(
      (n) => n.master && !n.failed && n.slots.some(([a, b]) => a <= slot && slot <= b),
    );
    if (!owner) {
      throw new Error(`no master serves slot ${slot}`);
    }
    return owner.port;
  }

  /** Counts of one Redis error type (e.g. CROSSSLOT) on every node, from INFO errorstats. */
  async errorCounts(kind: string): Promise<Record<number, number>> {
    const counts: Record<number, number> = {};
    for (const node of await this.nodes()) {
      if (node.failed) {
        continue;
      }
      const redis = new Redis(node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        const info = await redis.info('errorstats');
        counts[node.port] = Number(new RegExp(`errorstat_${kind}:count=(\\d+)`).exec(info)?.[1] ?? 0);
      } finally {
        redis.disconnect();
      }
    }
    return counts;
  }

  /** How many keys starting with `prefix` each live master holds. */
  async keysPerMaster(match: string): Promise<Record<number, string[]>> {
    const result: Record<number, string[]> = {};
    for (const node of (await this.nodes()).filter((n) => n.master && !n.failed)) {
      const redis = new Redis(node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
          keys.push(...batch);
          cursor = next;
        } while (cursor !== '0');
        result[node.port] = keys;
      } finally {
        redis.disconnect();
      }
    }
    return result;
  }

  protected pidFileOf(port: number): string {
    return join(this.dir, `cluster-${this.basePort}`, `redis-${port}`, 'redis.pid');
  }
}

/** nginx with ops/nginx/async-order-processor.conf in front of the given API ports (scripts/topology/nginx.sh). */
export class OwnNginx extends OwnTopology {
  readonly port = pick(8090, 10, 1);

  async up(apiPorts: string[]): Promise<this> {
    await this.script('nginx.sh', ['up'], this.scriptEnv(apiPorts));
    return this;
  }

  async down(): Promise<void> {
    await this.script('nginx.sh', ['down'], this.scriptEnv([])).catch(() => undefined);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  accessLog(): string {
    try {
      return readFileSync(join(this.dir, 'nginx', 'access.log'), 'utf8');
    } catch {
      return '';
    }
  }

  private scriptEnv(apiPorts: string[]): Record<string, string> {
    return {
      NGINX_PORT: String(this.port),
      API_PORTS: apiPorts.join(' '),
      NGINX_DIR: join(this.dir, 'nginx'),
    };
  }

  protected pidFileOf(): string {
    return join(this.dir, 'nginx', 'nginx.pid');
  }
}

/** Deletes every key matching `prefix*` on every master of a cluster (a SCAN sees one node only). */
export async function deleteClusterKeys(cluster: Cluster, prefix: string): Promise<void> {
  // `{aop-x}` also names the per-queue tags `{aop-x:order-processing}`: match on the tag's stem.
  const stem = prefix.replace(/\}$/, '');
  await Promise.all(
    cluster.nodes('master').map(async (node) => {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${stem}*`, 'COUNT', 1000);
        cursor = next;
        // One DEL per key: keys of different slots cannot go in one command.
        await Promise.all(keys.map((key) => node.del(key)));
      } while (cursor !== '0');
    }),
  );
}
