import { randomUUID } from 'node:crypto';
import { ChaosEnv, ChaosUser, HttpAnswer } from './chaos-env';
import { ServiceProcess } from './service-process';

export interface PlacedOrder {
  user: ChaosUser;
  idempotencyKey: string;
  body: Record<string, unknown>;
  answer: HttpAnswer;
  /** The order id when the API acknowledged it (202). */
  id?: string;
  /** Answers before the last one (retries of the same key). */
  earlier: number[];
  /** When the (first) request was sent. */
  sentAt?: number;
}

// 502: nginx in front of an API that died while the request was in it.
const RETRIED = [0, 409, 502, 503];

export interface LoadOptions {
  count: number;
  concurrency: number;
  users: ChaosUser[];
  /** The body of the i-th order. */
  bodyFor: (i: number) => Record<string, unknown>;
  /** Which API to send the i-th order to (several APIs, or one being restarted). */
  apiFor: (i: number) => ServiceProcess | string;
  timeoutMs?: number;
  onAnswer?: (order: PlacedOrder) => void;
  /**
   * Like a careful client: an unanswered request (connection refused or cut, or a 502 from a proxy), a 503 or a 409 "still in
   * flight" is sent again with the same Idempotency-Key until it gets an answer, at most this long.
   */
  retryForMs?: number;
}

/** Places `count` orders with `concurrency` clients at once, each with its own Idempotency-Key. */
export async function placeOrders(env: ChaosEnv, options: LoadOptions): Promise<PlacedOrder[]> {
  const placed: PlacedOrder[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < options.count) {
      const i = next++;
      const user = options.users[i % options.users.length];
      const body = options.bodyFor(i);
      const idempotencyKey = randomUUID();
      const send = () =>
        env.placeOrder(options.apiFor(i), user, body, { idempotencyKey, timeoutMs: options.timeoutMs });
      let answer = await send();
      const earlier: number[] = [];
      const deadline = Date.now() + (options.retryForMs ?? 0);
      while (RETRIED.includes(answer.status) && Date.now() < deadline) {
        earlier.push(answer.status);
        await new Promise((resolve) => setTimeout(resolve, 100));
        answer = await send();
      }
      const order: PlacedOrder = {
        user,
        idempotencyKey,
        body,
        answer,
        earlier,
        id: answer.status === 202 ? (answer.body.id as string) : undefined,
      };
      placed.push(order);
      options.onAnswer?.(order);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return placed;
}

/** How many answers of each status code (0 = no answer: connection refused, reset or timed out). */
export function statusCounts(placed: PlacedOrder[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of placed) {
    counts[p.answer.status] = (counts[p.answer.status] ?? 0) + 1;
  }
  return counts;
}

export async function outcomeCounts(env: ChaosEnv): Promise<Record<string, number>> {
  const rows = await env.ds.query<{ status: string; n: number }[]>(
    `SELECT status, count(*)::int AS n FROM orders GROUP BY status ORDER BY status`,
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** What the mock gateway's test tokens script (mock-payment-gateway.ts TEST_TOKENS): one ending each. */
export const TOKEN_OUTCOMES: Record<string, string> = {
  tok_success: 'CONFIRMED',
  // Charged, answer lost: the retry finds the original charge.
  tok_lost_response: 'CONFIRMED',
  // Two transient failures, then success (within the queue's attempts).
  tok_transient_2: 'CONFIRMED',
  tok_declined: 'PAYMENT_FAILED',
};

/** An order's ending as the scenarios compare it: the status, with the reason for a cancellation. */
export type Outcome = string;

/**
 * Acknowledged orders whose ending is not one of those allowed for them (`CONFIRMED`,
 * `PAYMENT_FAILED`, `CANCELLED:INSUFFICIENT_STOCK`...), with what they ended as: empty when every
 * order ended right.
 */
export async function unexpectedOutcomes(
  env: ChaosEnv,
  placed: PlacedOrder[],
  allowed: (order: PlacedOrder) => Outcome[],
): Promise<{ id: string; outcome: Outcome; allowed: Outcome[] }[]> {
  const acknowledged = placed.filter((p) => p.id);
  const rows = await env.ds.query<{ id: string; status: string; failure_reason: string | null }[]>(
    `SELECT id, status, failure_reason FROM orders WHERE id = ANY($1::uuid[])`,
    [acknowledged.map((p) => p.id)],
  );
  const endings = new Map(
    rows.map((r) => [r.id, r.status === 'CANCELLED' ? `CANCELLED:${r.failure_reason}` : r.status]),
  );
  return acknowledged
    .map((p) => ({ id: p.id!, outcome: endings.get(p.id!) ?? 'MISSING', allowed: allowed(p) }))
    .filter((o) => !o.allowed.includes(o.outcome));
}

/** The ending the order's payment token scripts. */
export function tokenOutcome(order: PlacedOrder): Outcome {
  const token = String(order.body.paymentToken);
  const outcome = TOKEN_OUTCOMES[token];
  if (!outcome) {
    throw new Error(`no scripted outcome for payment token ${token}`);
  }
  return outcome;
}
