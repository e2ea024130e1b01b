import { ChaosEnv, ChaosUser } from './chaos-env';
import { PlacedOrder, placeOrders } from './load';
import { ServiceProcess } from './service-process';

/**
 * Orders placed at a steady pace for a while (not a burst that is over before the fault has played
 * out): `clients` clients, each placing one order and pausing `pauseMs`, until `durationMs` passed.
 */
export async function placeOrdersFor(
  env: ChaosEnv,
  options: {
    durationMs: number;
    clients: number;
    pauseMs: number;
    users: ChaosUser[];
    api: ServiceProcess | string;
    bodyFor: (i: number) => Record<string, unknown>;
    retryForMs?: number;
    onAnswer?: (order: PlacedOrder) => void;
  },
): Promise<PlacedOrder[]> {
  const placed: PlacedOrder[] = [];
  const until = Date.now() + options.durationMs;
  let next = 0;
  const client = async (c: number): Promise<void> => {
    while (Date.now() < until) {
      const i = next++;
      const [order] = await placeOrders(env, {
        count: 1,
        concurrency: 1,
        users: [options.users[(i + c) % options.users.length]],
        apiFor: () => options.api,
        bodyFor: () => options.bodyFor(i),
        retryForMs: options.retryForMs,
        timeoutMs: 10_000,
      });
      order.sentAt = Date.now() - order.answer.ms;
      placed.push(order);
      options.onAnswer?.(order);
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, c) => client(c)));
  return placed;
}

/**
 * Milliseconds from `since` to the first status change of an order placed after `since`: such an order
 * could only be processed through the Redis that came back, so this is the time to the first job processed.
 */
export async function firstProcessedAfter(env: ChaosEnv, since: number): Promise<number | undefined> {
  const [row] = await env.ds.query<{ at: Date | null }[]>(
    `SELECT min(h.created_at) AS at FROM order_status_history h JOIN orders o ON o.id = h.order_id
     WHERE o.created_at > $1 AND h.from_status IS NOT NULL`,
    [new Date(since)],
  );
  return row?.at ? row.at.getTime() - since : undefined;
}
