import { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { RedisConfig, RedisNode, redactUrl } from '../../config/config';

/** A connection to any of the three topologies; BullMQ and every command used here accept both. */
export type RedisClient = Redis | Cluster;

/**
 * How a connection behaves while Redis is away. `blocking` (BullMQ workers, QueueEvents, subscribers)
 * queues commands and waits for Redis forever; `producer` fails a command at once so callers answer 503
 * (or keep the event in the outbox) instead of hanging; `probe` never reconnects (start-up checks).
 */
export type ConnectionKind = 'blocking' | 'producer' | 'probe';

export interface ConnectionTuning {
  connectTimeoutMs?: number;
  lazyConnect?: boolean;
}

const BEHAVIOUR: Record<ConnectionKind, RedisOptions> = {
  blocking: { maxRetriesPerRequest: null, enableOfflineQueue: true },
  producer: { maxRetriesPerRequest: 1, enableOfflineQueue: false },
  probe: { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null },
};

/** Reconnect quickly at first, then every 2 s: a failover takes seconds, and nobody should wait longer. */
function reconnectDelay(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 5), 2000);
}

/**
 * The one Redis connection factory: standalone (`REDIS_URL`), Sentinel (`REDIS_SENTINELS`) or Cluster
 * (`REDIS_CLUSTER_NODES`). Every Redis user in the service gets its connections from here.
 */
export function createRedisConnection(
  redis: RedisConfig,
  kind: ConnectionKind,
  tuning: ConnectionTuning = {},
): RedisClient {
  const common: RedisOptions = {
    connectTimeout: tuning.connectTimeoutMs ?? 2000,
    disconnectTimeout: 200,
    lazyConnect: tuning.lazyConnect ?? false,
    retryStrategy: reconnectDelay,
    ...BEHAVIOUR[kind],
  };
  switch (redis.mode) {
    case 'standalone':
      return new Redis(redis.url, common);
    case 'sentinel':
      return new Redis({
        ...common,
        sentinels: redis.sentinels,
        name: redis.sentinelMaster,
        password: redis.password,
        sentinelPassword: redis.sentinelPassword,
        role: 'master',
        // No failoverDetector: its +switch-master handler can land while the connection is still asking the
        // sentinels, which ends that connection for good ("Connection is closed", seen in the failover
        // chaos scenario). A killed master closes the socket anyway, and a demoted one answers READONLY:
        // both make the connection ask the sentinels again.
        reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
        sentinelRetryStrategy: kind === 'probe' ? () => null : reconnectDelay,
        connectTimeout: common.connectTimeout,
      });
    case 'cluster': {
      const options: ClusterOptions = {
        lazyConnect: common.lazyConnect,
        enableOfflineQueue: kind === 'blocking',
        maxRedirections: 16,
        // While a replica is being promoted the cluster answers CLUSTERDOWN / TRYAGAIN: wait a little, retry.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 300,
        retryDelayOnTryAgain: 200,
        slotsRefreshTimeout: 2000,
        clusterRetryStrategy: kind === 'probe' ? () => null : reconnectDelay,
        // BullMQ reads `maxRetriesPerRequest` (null for blocking connections) from these node options.
        redisOptions: {
          connectTimeout: common.connectTimeout,
          disconnectTimeout: common.disconnectTimeout,
          maxRetriesPerRequest: common.maxRetriesPerRequest,
          password: redis.password,
        },
      };
      return new Cluster(redis.clusterNodes, options);
    }
  }
}

export function formatNode(node: RedisNode): string {
  return node.host.includes(':') ? `[${node.host}]:${node.port}` : `${node.host}:${node.port}`;
}

/** The topology in words, for logs and start-up errors (never a password). */
export function describeTopology(redis: RedisConfig): string {
  switch (redis.mode) {
    case 'standalone':
      return redactUrl(redis.url);
    case 'sentinel':
      return `master "${redis.sentinelMaster}" via sentinels ${redis.sentinels.map(formatNode).join(',')}`;
    case 'cluster':
      return `cluster seeds ${redis.clusterNodes.map(formatNode).join(',')}`;
  }
}

/**
 * The data node a connection talks to right now (`host:port`), or undefined while it is not connected.
 * In cluster mode: the master holding `key`'s slot, where the service's own keys live.
 */
export function currentNode(client: RedisClient, key: string): string | undefined {
  if (client instanceof Cluster) {
    const master = client.slots[slotOf(key)]?.[0];
    return master;
  }
  const stream = (client as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  if (client.status !== 'ready' || !stream?.remoteAddress) {
    return undefined;
  }
  return formatNode({ host: stream.remoteAddress, port: stream.remotePort ?? 0 });
}

/** Redis Cluster's key slot: CRC16 (XMODEM) of the key, or of its hash tag when it has one, mod 16384. */
export function slotOf(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) {
      key = key.slice(open + 1, close);
    }
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc % 16384;
}

/**
 * The BullMQ key prefix of one queue. In cluster mode each queue gets a hash tag of its own, derived from
 * QUEUE_PREFIX (`{aop}` → `{aop:order-processing}`): one queue's keys share a slot (BullMQ's scripts
 * touch several at once) while different queues land on different masters. Standalone and Sentinel keep
 * the prefix as it is, so jobs already waiting in Redis stay where the workers look for them.
 */
export function queueKeyPrefix(prefix: string, queue: string, mode: RedisConfig['mode']): string {
  if (mode !== 'cluster') {
    return prefix;
  }
  const tag = /\{([^}]+)\}/.exec(prefix);
  return tag ? prefix.replace(tag[0], `{${tag[1]}:${queue}}`) : `{${prefix}:${queue}}`;
}
