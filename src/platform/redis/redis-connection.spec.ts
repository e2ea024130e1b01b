import { loadConfig } from '../../config/config';
import { currentNode, createRedisConnection, queueKeyPrefix, slotOf } from './redis-connection';

describe('redis-connection', () => {
  describe(slotOf.name, () => {
    it('computes the slots Redis Cluster itself gives (CLUSTER KEYSLOT), hash tags included', () => {
      // Figures read from `redis-cli cluster keyslot` on a Redis 7 cluster.
      expect(slotOf('foo')).toBe(12182);
      expect(slotOf('123456789')).toBe(12739);
      expect(slotOf('{aop}')).toBe(2520);
      expect(slotOf('{aop}:ratelimit:ip:127.0.0.1')).toBe(2520);
      expect(slotOf('{aop:order-processing}')).toBe(7985);
      expect(slotOf('{aop:payment-processing}:payment-processing:wait')).toBe(12950);
    });
  });

  describe(queueKeyPrefix.name, () => {
    it('gives each queue a hash tag of its own in cluster mode, derived from QUEUE_PREFIX', () => {
      expect(queueKeyPrefix('{aop}', 'order-processing', 'cluster')).toBe('{aop:order-processing}');
      expect(queueKeyPrefix('{aop_t1}saga_x', 'payment-processing', 'cluster')).toBe(
        '{aop_t1:payment-processing}saga_x',
      );
      expect(queueKeyPrefix('aop', 'order-processing', 'cluster')).toBe('{aop:order-processing}');
    });

    it('keeps QUEUE_PREFIX as it is in standalone and Sentinel mode (jobs already in Redis stay found)', () => {
      expect(queueKeyPrefix('{aop}', 'order-processing', 'standalone')).toBe('{aop}');
      expect(queueKeyPrefix('{aop}', 'order-processing', 'sentinel')).toBe('{aop}');
    });

    it('spreads the four queues over more than one slot range of a three-master cluster', () => {
      const queues = [
        'order-processing',
        'payment-processing',
        'inventory-management',
        'notification-sending',
      ];
      const masters = new Set(
        queues.map((q) => Math.floor(slotOf(queueKeyPrefix('{aop}', q, 'cluster')) / (16384 / 3))),
      );
      expect(masters.size).toBeGreaterThan(1);
    });
  });

  describe(createRedisConnection.name, () => {
    it('connects in standalone mode and says which node it talks to', async () => {
      const config = loadConfig(process.env);
      const sut = createRedisConnection(config.redis, 'blocking');
      try {
        await sut.ping();
        expect(currentNode(sut, 'any')).toMatch(/:\d+$/);
      } finally {
        sut.disconnect();
      }
    });
  });
});
