import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { ChaosEnv, ChaosUser } from './support/chaos-env';
import { outcomeCounts, PlacedOrder, statusCounts } from './support/load';
import { placeOrdersFor } from './support/paced-load';
import { reportFigures, sized } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * PostgreSQL as users scale it out (scripts/topology/postgres.sh): a primary, a synchronous streaming
 * standby that serves stale-tolerant reads (DATABASE_REPLICA_URLS), and PgBouncer 1.18 in transaction mode
 * in front (prepared statements off). Three faults: the standby lags (replay paused) → replica-routed
 * reads fall back to the primary, nothing stale where read-your-writes is promised; the standby is down →
 * reads keep answering from the primary; the primary dies under load → the standby is promoted and
 * PgBouncer re-pointed, with the same processes, no acknowledged order lost and every order settled.
 */
describe('chaos: PostgreSQL replicas, PgBouncer and failover', () => {
  // Ports 3490–3499 belong to this suite's own PostgreSQL clusters (postgres-crash uses 3495).
  const ports = { primary: 3490, standby: 3491, bouncer: 3492 };
  const topologyDir = `/tmp/aop-chaos-topology-${randomBytes(3).toString('hex')}`;
  const topology = (command: string): void => {
    execFileSync('bash', [join(__dirname, '../../scripts/topology/postgres.sh'), command], {
      env: {
        ...process.env,
        TOPOLOGY_DIR: topologyDir,
        PG_PRIMARY_PORT: String(ports.primary),
        PG_STANDBY_PORT: String(ports.standby),
        PGBOUNCER_PORT: String(ports.bouncer),
      },
      stdio: 'pipe',
    });
  };
  const LOAD_MS = sized(15_000, 60_000);
  const KILL_AFTER_MS = sized(5_000, 20_000);

  let env: ChaosEnv;
  let strict: ServiceProcess;
  let tolerant: ServiceProcess;
  let worker: ServiceProcess;
  let users: ChaosUser[];
  let productId: string;

  const atPort = (url: string, port: number): string => {
    const u = new URL(url);
    u.port = String(port);
    return u.toString();
  };

  beforeAll(async () => {
    topology('up');
    // The database is reached through PgBouncer; migrations and LISTEN go straight to the primary.
    env = new ChaosEnv('pg-replicas', {}, `postgres://postgres@127.0.0.1:${ports.bouncer}/postgres`);
    Object.assign(env.env, {
      DATABASE_PREPARED_STATEMENTS: 'false',
      DATABASE_DIRECT_URL: atPort(env.databaseUrl, ports.primary),
      DATABASE_REPLICA_URLS: atPort(env.databaseUrl, ports.standby),
    });
    await env.setUp();
    strict = await env.start('api');
    // A second API that tolerates ten minutes of lag: what it reads shows the replica really serves reads.
    tolerant = await env.start('api', { DATABASE_REPLICA_MAX_LAG_MS: '600000' });
    worker = await env.start('worker');
    users = await env.createUsers(10);
    productId = (await env.createProduct({ stock: 1_000_000, price: '11.00' })).id;
  }, 120_000);
  afterAll(async () => {
    await env?.tearDown().catch(() => undefined);
    topology('down');
  });

  const placeOne = async (api: ServiceProcess, user: ChaosUser): Promise<string> => {
    const answer = await env.placeOrder(api, user, {
      items: [{ productId, quantity: 1 }],
      paymentToken: 'tok_success',
    });
    expect(answer.status).toBe(202);
    return answer.body.id as string;
  };
  const listedIds = async (
    api: ServiceProcess,
    user: ChaosUser,
  ): Promise<{ status: number; ids: string[] }> => {
    const answer = await env.request(api, 'GET', '/api/v1/orders?page=1&limit=50', {
      headers: { authorization: `Bearer ${user.token}` },
    });
    const data = (answer.body.data as { id: string }[] | undefined) ?? [];
    return { status: answer.status, ids: data.map((o) => o.id) };
  };

  it('a lagging standby: order lists fall back to the primary (never stale), while a lag-tolerant API reads the replica', async () => {
    const user = users[0];
    const before = await placeOne(strict, user);
    // Replay running: both see the order once the standby has replayed it (milliseconds).
    await eventually(async () => (await listedIds(tolerant, user)).ids.includes(before), {
      what: 'the standby to replay the order',
    });

    topology('pause-replay');
    try {
      const id = await placeOne(strict, user);
      // Read-your-writes: the order and its status at once, from the primary.
      expect((await env.request(strict, 'GET', `/api/v1/orders/${id}`, auth(user))).status).toBe(200);
      // The list tolerates DATABASE_REPLICA_MAX_LAG_MS (1 s): the paused standby is skipped once it is older.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const fromStrict = await listedIds(strict, user);
      expect(fromStrict).toEqual({ status: 200, ids: expect.arrayContaining([id, before]) });
      // Ten minutes of tolerance: the replica answers, and it has not replayed the new order.
      const fromTolerant = await listedIds(tolerant, user);
      expect(fromTolerant.status).toBe(200);
      expect(fromTolerant.ids).toContain(before);
      expect(fromTolerant.ids).not.toContain(id);
    } finally {
      topology('resume-replay');
    }
  });

  it('the standby down: reads keep answering from the primary, fast', async () => {
    const user = users[1];
    const id = await placeOne(strict, user);
    await eventually(async () => (await listedIds(tolerant, user)).ids.includes(id), {
      what: 'the standby to replay the order',
    });
    topology('stop-standby');
    try {
      for (const api of [strict, tolerant]) {
        const started = Date.now();
        expect(await listedIds(api, user)).toEqual({ status: 200, ids: [id] });
        const products = await env.request(api, 'GET', '/api/v1/products?page=1&limit=5');
        expect(products.status).toBe(200);
        expect(Date.now() - started).toBeLessThan(5000);
      }
    } finally {
      // Back before anything writes: the primary's commits wait for its one synchronous standby.
      topology('start-standby');
    }
  });

  it('the primary dies under load: the standby is promoted behind PgBouncer, nothing acknowledged is lost, the same processes finish every order', async () => {
    const started = Date.now();
    const pids = [strict.pid, tolerant.pid, worker.pid];
    const load = placeOrdersFor(env, {
      durationMs: LOAD_MS,
      clients: 2,
      pauseMs: 50,
      users,
      api: strict,
      bodyFor: () => ({ items: [{ productId, quantity: 1 }], paymentToken: 'tok_success' }),
    });
    await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS));
    const killedAt = Date.now();
    topology('promote');
    const placed: PlacedOrder[] = await load;

    const acknowledged = placed.filter((p) => p.id).map((p) => p.id!);
    const firstAcceptedAfter = placed
      .filter((p) => p.answer.status === 202 && p.sentAt! >= killedAt)
      .map((p) => p.sentAt! + p.answer.ms - killedAt)
      .sort((a, b) => a - b)[0];
    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 120_000) });
    const [{ found, orders }] = await env.ds.query<{ found: number; orders: number }[]>(
      `SELECT count(*) FILTER (WHERE id = ANY($1::uuid[]))::int AS found, count(*)::int AS orders FROM orders`,
      [acknowledged],
    );
    const answers = statusCounts(placed);
    reportFigures({
      scenario: 'postgres-failover',
      orders: acknowledged.length,
      kills: 1,
      violations: verdict.invariants.violations + verdict.unsettled + (acknowledged.length - found),
      durationMs: Date.now() - started,
      answers,
      firstAcceptedAfterKillMs: firstAcceptedAfter === undefined ? null : Math.round(firstAcceptedAfter),
      lostAcknowledged: acknowledged.length - found,
      outcomes: verdict.outcomes,
    });

    // Orders were accepted after the failover, by the same API: no restart.
    expect(firstAcceptedAfter).toBeDefined();
    expect([strict.pid, tolerant.pid, worker.pid]).toEqual(pids);
    expect([strict.alive, tolerant.alive, worker.alive]).toEqual([true, true, true]);
    // A request cut by the failover is refused (503) or answered; never anything else.
    expect(Object.keys(answers).filter((s) => !['202', '503'].includes(s))).toEqual([]);
    // Synchronous replication: every acknowledged order is on the promoted standby.
    expect(found).toBe(acknowledged.length);
    expect(await outcomeCounts(env)).toEqual({ CONFIRMED: orders });
    expectClean(verdict);
  });
});

function auth(user: ChaosUser): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${user.token}` } };
}
