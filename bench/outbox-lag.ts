/**
 * Measures the outbox relay's commit→enqueue lag: one event at a time at rest, then a burst from
 * concurrent writers. Uses its own queue prefix; run against a migrated database:
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/async_orders node -r @swc-node/register bench/outbox-lag.ts
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { NewDomainEvent } from '../src/platform/outbox/domain-events';
import { buildPipeline } from '../test/support/pipeline';

const event = (): NewDomainEvent<'OrderCreated'> => {
  const orderId = randomUUID();
  return {
    type: 'OrderCreated',
    aggregateType: 'order',
    aggregateId: orderId,
    payload: { orderId, userId: randomUUID() },
  };
};

async function main(): Promise<void> {
  const p = await buildPipeline({
    QUEUE_PREFIX: `{aop-bench-${randomUUID().slice(0, 6)}}`,
    LOG_LEVEL: 'silent',
  });
  const percentiles = async (ids: string[]): Promise<string> => {
    const [r] = await p.dataSource.query<{ p50: number; p99: number; max: number; n: number }[]>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) * 1000 AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) * 1000 AS p99, max(lag) * 1000 AS max, count(*)::int AS n
       FROM (SELECT extract(epoch FROM processed_at - created_at)::float8 AS lag FROM outbox_events WHERE id = ANY($1::uuid[])) l`,
      [ids],
    );
    return `n=${r.n} p50=${r.p50.toFixed(1)} ms p99=${r.p99.toFixed(1)} ms max=${r.max.toFixed(1)} ms`;
  };
  const waitProcessed = async (ids: string[]): Promise<void> => {
    for (;;) {
      const [{ n }] = await p.dataSource.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM outbox_events WHERE id = ANY($1::uuid[]) AND processed_at IS NULL`,
        [ids],
      );
      if (n === 0) {
        return;
      }
      await sleep(50);
    }
  };
  try {
    p.relay.start();
    while (!p.relay.listening) {
      await sleep(20);
    }
    const atRest: string[] = [];
    for (let i = 0; i < 500; i++) {
      atRest.push(...(await p.dataSource.transaction((tx) => p.writer.appendMany(tx, [event()]))));
      await sleep(10);
    }
    await waitProcessed(atRest);
    console.log(`at rest (one event every ~10 ms): ${await percentiles(atRest)}`);

    const burst: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 250; i++) {
          burst.push(...(await p.dataSource.transaction((tx) => p.writer.appendMany(tx, [event()]))));
        }
      }),
    );
    await waitProcessed(burst);
    console.log(`burst (8 concurrent writers, 2000 events): ${await percentiles(burst)}`);
    await p.dataSource.query(`DELETE FROM outbox_events WHERE id = ANY($1::uuid[])`, [[...atRest, ...burst]]);
    await Promise.all(p.queues.all().map((q) => q.obliterate({ force: true })));
  } finally {
    await p.close();
  }
}

void main();
