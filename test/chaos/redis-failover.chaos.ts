import { queueKeyPrefix, slotOf } from '../../src/platform/redis/redis-connection';
import { QUEUES } from '../../src/platform/queue/queue-names';
import { eventually } from '../support/eventually';
import { ChaosEnv } from './support/chaos-env';
import { outcomeCounts, PlacedOrder, statusCounts } from './support/load';
import { OwnCluster, OwnSentinel } from './support/own-redis';
import { firstProcessedAfter, placeOrdersFor } from './support/paced-load';
import { reportFigures, sized } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * The Redis master SIGKILLed while orders come in, on the two topologies users run for failover: Sentinel
 * (a replica promoted by three sentinels) and Cluster (a master's replica takes its slots over). Nothing is
 * restarted: the API keeps answering 202 (the accept path needs no Redis), the workers find the new
 * master by themselves, every order settles exactly once and the invariants hold.
 */
describe('chaos: Redis failover', () => {
  const LOAD_MS = sized(20_000, 60_000);
  const KILL_AFTER_MS = sized(5_000, 15_000);

  async function readiness(env: ChaosEnv, api: ServiceProcess): Promise<Record<string, unknown>> {
    const answer = await env.request(api, 'GET', '/api/v1/health/ready');
    return (answer.body.details as Record<string, Record<string, unknown>>)?.redis ?? {};
  }

  /** Starts the load, kills at KILL_AFTER_MS, returns what was placed, when the kill happened, and how it went. */
  async function loadWithKill(
    env: ChaosEnv,
    api: ServiceProcess,
    kill: () => Promise<void>,
    failedOver: () => Promise<boolean>,
  ): Promise<{ placed: PlacedOrder[]; killedAt: number; failoverMs: number | undefined }> {
    const users = await env.createUsers(10);
    const product = await env.createProduct({ stock: 1_000_000, price: '12.00' });
    const load = placeOrdersFor(env, {
      durationMs: LOAD_MS,
      clients: 2,
      pauseMs: 100,
      users,
      api,
      bodyFor: (i) => ({
        items: [{ productId: product.id, quantity: 1 + (i % 3) }],
        paymentToken: 'tok_success',
      }),
    });
    await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS));
    const killedAt = Date.now();
    await kill();
    // Undefined when it never failed over: the figures are reported before the test asserts on it.
    const failoverMs = await eventually(async () => (await failedOver()) && Date.now() - killedAt, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'the failover',
    }).catch(() => undefined);
    return { placed: await load, killedAt, failoverMs };
  }

  /** What both topologies must show: every order accepted at once, each exactly once, all confirmed. */
  async function expectEveryOrderOnce(env: ChaosEnv, placed: PlacedOrder[]): Promise<void> {
    const acknowledged = placed.filter((p) => p.id);
    const [{ orders }] = await env.ds.query<{ orders: number }[]>(
      `SELECT count(*)::int AS orders FROM orders`,
    );
    expect(statusCounts(placed)).toEqual({ 202: placed.length });
    expect(placed.filter((p) => p.earlier.length > 0)).toHaveLength(0);
    expect(orders).toBe(acknowledged.length);
    expect(await outcomeCounts(env)).toEqual({ CONFIRMED: acknowledged.length });
  }

  describe('Sentinel: the master SIGKILLed during load', () => {
    let sentinel: OwnSentinel;
    let env: ChaosEnv;

    beforeAll(async () => {
      sentinel = await new OwnSentinel().up();
      env = await new ChaosEnv('sentinel-failover', sentinel.env).setUp();
    });
    afterAll(async () => {
      await env.tearDown().catch(() => undefined);
      await sentinel.down();
    });

    it('recovers by itself: no order refused, lost or doubled; all settle', async () => {
      const started = Date.now();
      const api = await env.start('api');
      const workers = [await env.start('worker'), await env.start('worker')];
      const oldMaster = await sentinel.masterPort();
      expect(await readiness(env, api)).toMatchObject({
        status: 'up',
        mode: 'sentinel',
        node: `127.0.0.1:${oldMaster}`,
      });

      const { placed, killedAt, failoverMs } = await loadWithKill(
        env,
        api,
        async () => sentinel.killNode(oldMaster),
        async () => (await sentinel.masterPort()) !== oldMaster,
      );
      const verdict = await recoverAndCheck(env, { windowMs: sized(90_000, 180_000) });
      const firstJobMs = await firstProcessedAfter(env, killedAt);
      const newMaster = await sentinel.masterPort();
      const ready = await readiness(env, api);
      reportFigures({
        scenario: 'redis-sentinel-failover',
        orders: placed.length,
        kills: 1,
        violations: verdict.invariants.violations + verdict.unsettled,
        durationMs: Date.now() - started,
        sentinelFailoverMs: failoverMs,
        killToFirstJobProcessedMs: firstJobMs,
        recoveryMs: verdict.recoveryMs,
        answers: statusCounts(placed),
        outcomes: await outcomeCounts(env),
        readinessAfter: ready,
      });

      expect(failoverMs).toBeDefined();
      expect(newMaster).not.toBe(oldMaster);
      expect(firstJobMs).toBeDefined();
      // Nothing was restarted: the same processes found the new master.
      expect([api, ...workers].every((p) => p.alive)).toBe(true);
      expect(ready).toMatchObject({ status: 'up', mode: 'sentinel', node: `127.0.0.1:${newMaster}` });
      await expectEveryOrderOnce(env, placed);
      expectClean(verdict);
    });
  });

  describe('Cluster: a master SIGKILLed during load', () => {
    let cluster: OwnCluster;
    let env: ChaosEnv;

    beforeAll(async () => {
      cluster = await new OwnCluster().up();
      env = await new ChaosEnv('cluster-failover', cluster.env).setUp();
    });
    afterAll(async () => {
      await env.tearDown().catch(() => undefined);
      await cluster.down();
    });

    it('its replica takes over: no order refused, lost or doubled; queues spread over the masters', async () => {
      const started = Date.now();
      const api = await env.start('api');
      const workers = [await env.start('worker'), await env.start('worker')];
      expect(await readiness(env, api)).toMatchObject({ status: 'up', mode: 'cluster' });
      // The master of the saga's own queue: the worst one to lose.
      const sagaSlot = slotOf(queueKeyPrefix(env.queuePrefix, QUEUES.orderProcessing, 'cluster'));
      const victim = await cluster.masterOf(sagaSlot);

      const { placed, killedAt, failoverMs } = await loadWithKill(
        env,
        api,
        async () => cluster.killNode(victim),
        async () => (await cluster.masterOf(sagaSlot)) !== victim,
      );
      const verdict = await recoverAndCheck(env, { windowMs: sized(90_000, 180_000) });
      const firstJobMs = await firstProcessedAfter(env, killedAt);

      // Where each queue's keys live: one master per queue (one hash tag), more than one master in all.
      const stem = env.queuePrefix.replace(/\}$/, '');
      const keys = await cluster.keysPerMaster(`${stem}*`);
      const mastersOf: Record<string, number[]> = {};
      for (const queue of Object.values(QUEUES)) {
        const prefix = queueKeyPrefix(env.queuePrefix, queue, 'cluster');
        mastersOf[queue] = Object.entries(keys)
          .filter(([, list]) => list.some((k) => k.startsWith(`${prefix}:${queue}:`)))
          .map(([port]) => Number(port));
      }
      const completedOn = Object.entries(keys)
        .filter(([, list]) => list.some((k) => /:completed$/.test(k)))
        .map(([port]) => Number(port));
      const crossSlot = await cluster.errorCounts('CROSSSLOT');
      const logsWithCrossSlot = [api, ...workers].filter((p) => p.readLog().includes('CROSSSLOT'));
      reportFigures({
        scenario: 'redis-cluster-failover',
        orders: placed.length,
        kills: 1,
        violations: verdict.invariants.violations + verdict.unsettled,
        durationMs: Date.now() - started,
        clusterFailoverMs: failoverMs,
        killToFirstJobProcessedMs: firstJobMs,
        recoveryMs: verdict.recoveryMs,
        answers: statusCounts(placed),
        outcomes: await outcomeCounts(env),
        mastersOfQueues: mastersOf,
        mastersWithCompletedJobs: completedOn,
        crossSlotErrors: crossSlot,
      });

      expect(failoverMs).toBeDefined();
      expect(firstJobMs).toBeDefined();
      expect([api, ...workers].every((p) => p.alive)).toBe(true);
      for (const queue of Object.values(QUEUES)) {
        expect({ queue, masters: mastersOf[queue].length }).toEqual({ queue, masters: 1 });
      }
      expect(new Set(completedOn).size).toBeGreaterThan(1);
      expect(Object.values(crossSlot).every((n) => n === 0)).toBe(true);
      expect(logsWithCrossSlot.map((p) => p.name)).toEqual([]);
      await expectEveryOrderOnce(env, placed);
      expectClean(verdict);
    });
  });
});
