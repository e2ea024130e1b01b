import { ChaosEnv, ChaosUser } from './support/chaos-env';
import { outcomeCounts, PlacedOrder, statusCounts } from './support/load';
import { placeOrdersFor } from './support/paced-load';
import { PostgresTopology } from './support/postgres-topology';
import { reportFigures, sized } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * The primary dies (immediate stop) while orders come in: scripts/topology/postgres.sh promotes the
 * synchronous standby and re-points PgBouncer (RELOAD). The same API and worker processes go on: requests
 * cut by the failover are answered 503 (the client retries with its Idempotency-Key), no acknowledged
 * order is lost (synchronous replication), every order settles and the invariants hold. The summary gives
 * the time from the primary's death to the first accepted order.
 *
 * Not in CI's short run (docs/postgres-and-pooling.md): 2 runs in 10 here each ended with one wrong order (one
 * CONFIRMED whose reservation stayed ACTIVE; one CONFIRMED without its notice); under investigation.
 */
describe('chaos: PostgreSQL primary failover behind PgBouncer', () => {
  const topology = new PostgresTopology({ primary: 3496, standby: 3497, bouncer: 3498 });
  const LOAD_MS = sized(15_000, 60_000);
  const KILL_AFTER_MS = sized(5_000, 20_000);

  let env: ChaosEnv;
  let strict: ServiceProcess;
  let tolerant: ServiceProcess;
  let worker: ServiceProcess;
  let users: ChaosUser[];
  let productId: string;

  beforeAll(async () => {
    topology.run('up');
    env = await topology.envFor('pg-failover').setUp();
    strict = await env.start('api');
    // A second API reading the standby (promoted under it: it must skip it and read the new primary).
    tolerant = await env.start('api', { DATABASE_REPLICA_MAX_LAG_MS: '600000' });
    worker = await env.start('worker');
    users = await env.createUsers(10);
    productId = (await env.createProduct({ stock: 1_000_000, price: '11.00' })).id;
  }, 120_000);
  afterAll(async () => {
    await env?.tearDown().catch(() => undefined);
    topology.run('down');
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
    topology.run('promote');
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
    if (Object.keys(verdict.findings).length > 0) {
      await printPostMortem(env, verdict.findings, killedAt);
    }
    expectClean(verdict);
  });
});

/** For the open finding: what happened to each offending order, step by step, against the kill's time. */
async function printPostMortem(
  env: ChaosEnv,
  findings: Record<string, { rows: unknown[] }>,
  killedAt: number,
): Promise<void> {
  const ids = Object.values(findings).flatMap((f) => f.rows.map((r) => (r as { orderId?: string }).orderId));
  const rows = await env.ds.query(
    `SELECT o.id, o.status, o.created_at, o.updated_at,
            (SELECT json_agg(r ORDER BY r.created_at) FROM inventory_reservations r WHERE r.order_id = o.id) AS reservations,
            (SELECT json_agg(h ORDER BY h.created_at) FROM order_status_history h WHERE h.order_id = o.id) AS history,
            (SELECT json_agg(m ORDER BY m.created_at) FROM stock_movements m WHERE m.order_id = o.id) AS movements,
            (SELECT row_to_json(s) FROM saga_state s WHERE s.order_id = o.id) AS saga,
            (SELECT json_agg(json_build_object('template', n.template, 'status', n.status, 'attempts', n.attempts, 'lastError', n.last_error, 'createdAt', n.created_at)) FROM notifications n WHERE n.order_id = o.id) AS notifications
     FROM orders o WHERE o.id = ANY($1::uuid[])`,
    [ids.filter(Boolean)],
  );
  console.log(
    `POST-MORTEM (primary killed at ${new Date(killedAt).toISOString()}):\n${JSON.stringify(rows, null, 1)}`,
  );
}
