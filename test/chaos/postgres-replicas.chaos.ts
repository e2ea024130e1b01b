import { eventually } from '../support/eventually';
import { ChaosEnv, ChaosUser } from './support/chaos-env';
import { PostgresTopology } from './support/postgres-topology';
import { ServiceProcess } from './support/service-process';

/**
 * PostgreSQL as users scale it out (scripts/topology/postgres.sh): a primary, a synchronous streaming
 * standby that serves stale-tolerant reads (DATABASE_REPLICA_URLS), and PgBouncer 1.18 in transaction mode
 * in front (prepared statements off). Two faults of the standby: it lags (replay paused) → replica-routed
 * reads fall back to the primary, nothing stale where read-your-writes is promised; it is down → reads keep
 * answering from the primary. (The primary's death: postgres-failover.chaos.ts.)
 */
describe('chaos: PostgreSQL read replicas behind PgBouncer', () => {
  const topology = new PostgresTopology();

  let env: ChaosEnv;
  let strict: ServiceProcess;
  let tolerant: ServiceProcess;
  let users: ChaosUser[];
  let productId: string;

  beforeAll(async () => {
    topology.run('up');
    env = await topology.envFor('pg-replicas').setUp();
    strict = await env.start('api');
    // A second API that tolerates ten minutes of lag: what it reads shows the replica really serves reads.
    tolerant = await env.start('api', { DATABASE_REPLICA_MAX_LAG_MS: '600000' });
    users = await env.createUsers(10);
    productId = (await env.createProduct({ stock: 1_000_000, price: '11.00' })).id;
  }, 120_000);
  afterAll(async () => {
    await env?.tearDown().catch(() => undefined);
    topology.run('down');
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

    topology.run('pause-replay');
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
      topology.run('resume-replay');
    }
  });

  it('the standby down: reads keep answering from the primary, fast', async () => {
    const user = users[1];
    const id = await placeOne(strict, user);
    await eventually(async () => (await listedIds(tolerant, user)).ids.includes(id), {
      what: 'the standby to replay the order',
    });
    topology.run('stop-standby');
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
      topology.run('start-standby');
    }
  });
});

function auth(user: ChaosUser): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${user.token}` } };
}
