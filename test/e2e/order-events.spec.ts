import { randomUUID } from 'node:crypto';
import {
  orderEventsChannel,
  OrderStatusService,
  StatusEventMessage,
} from '../../src/modules/orders/order-status.service';
import { RedisService } from '../../src/platform/redis/redis.service';
import { startTestApp, TestApp } from '../support/test-app';

interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Reads an SSE response until the server ends it; returns the events. */
async function readEvents(
  url: string,
  token: string,
  lastEventId?: string,
): Promise<{ status: number; events: SseEvent[] }> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
  });
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const event: SseEvent = { data: '' };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') {
          event.id = value;
        } else if (field === 'event') {
          event.event = value;
        } else if (field === 'data') {
          event.data = value;
        }
      }
      return event;
    });
  return { status: res.status, events };
}

describe('GET /orders/:id/events (Server-Sent Events)', () => {
  let sut: TestApp;
  let statuses: OrderStatusService;
  let token: string;
  let orderId: string;
  let productId: string;

  const placeOrder = async (): Promise<string> =>
    (
      await sut
        .http()
        .post('/api/v1/orders')
        .set('authorization', `Bearer ${token}`)
        .send({ items: [{ productId, quantity: 1 }] })
        .expect(202)
    ).body.id;

  beforeAll(async () => {
    sut = await startTestApp();
    statuses = sut.get(OrderStatusService);
    const email = `sse-${randomUUID()}@example.com`;
    const [{ id: userId }] = await sut.dataSource.query(
      `INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, 'x', 'A', 'B') RETURNING id`,
      [email],
    );
    token = sut.tokenFor({ id: userId, email, role: 'customer' });
    [{ id: productId }] = await sut.dataSource.query(
      `INSERT INTO products (sku, name, price) VALUES ($1, 'P', 5) RETURNING id`,
      [`SKU-${randomUUID()}`],
    );
    orderId = await placeOrder();
  });
  afterAll(() => sut.close());

  async function move(to: 'PROCESSING' | 'CONFIRMED', id = orderId): Promise<void> {
    const change = await sut.dataSource.transaction((tx) => statuses.transition(tx, id, to));
    await statuses.publish(change);
  }

  it('streams PENDING → … → final live, then ends; Last-Event-ID resumes after what the client saw', async () => {
    const stream = readEvents(`${sut.url}/api/v1/orders/${orderId}/events`, token);
    await new Promise((r) => setTimeout(r, 100));
    await move('PROCESSING');
    await move('CONFIRMED');

    const { status, events } = await stream;
    expect(status).toBe(200);
    const statusEvents = events.filter((e) => e.event === 'status');
    expect(statusEvents.map((e) => JSON.parse(e.data).status)).toEqual([
      'PENDING',
      'PROCESSING',
      'CONFIRMED',
    ]);
    expect(events.at(-1)?.event).toBe('end');

    const resumed = await readEvents(`${sut.url}/api/v1/orders/${orderId}/events`, token, statusEvents[0].id);
    expect(resumed.events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status)).toEqual([
      'PROCESSING',
      'CONFIRMED',
    ]);
  });

  it('delivers live through pub/sub: an event that exists only on the channel reaches the open stream', async () => {
    // The history table never holds this event, so neither the replay nor the catch-up poll can send it.
    const id = await placeOrder();
    const redis = sut.get(RedisService);
    const [{ last }] = await sut.dataSource.query<{ last: string }[]>(
      `SELECT max(id)::text AS last FROM order_status_history WHERE order_id = $1`,
      [id],
    );
    const live: StatusEventMessage = {
      id: String(BigInt(last) + 1n),
      orderId: id,
      from: 'PENDING',
      status: 'CANCELLED',
      reason: 'LIVE_ONLY',
      at: new Date().toISOString(),
    };
    let ended = false;
    const stream = readEvents(`${sut.url}/api/v1/orders/${id}/events`, token).finally(() => (ended = true));
    // The stream subscribes while it replays the history: publish until it has passed the event on.
    const deadline = Date.now() + 10_000;
    while (!ended && Date.now() < deadline) {
      await redis.client.publish(orderEventsChannel(redis, id), JSON.stringify(live));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ended).toBe(true);

    const { events } = await stream;
    expect(
      events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data) as StatusEventMessage),
    ).toEqual([
      expect.objectContaining({ status: 'PENDING', from: null }),
      expect.objectContaining({ id: live.id, status: 'CANCELLED', reason: 'LIVE_ONLY' }),
    ]);
    expect(events.at(-1)?.event).toBe('end');
  });

  it('ends at once for a settled order when the client already saw the final event (found by fuzzing)', async () => {
    // Before the fix, a reconnect with Last-Event-ID past the last event got a stream that never ended.
    const [{ id: last }] = await sut.dataSource.query(
      `SELECT max(id)::text AS id FROM order_status_history WHERE order_id = $1`,
      [orderId],
    );
    for (const lastEventId of [last, '999999999999']) {
      const { status, events } = await readEvents(
        `${sut.url}/api/v1/orders/${orderId}/events`,
        token,
        lastEventId,
      );
      expect(status).toBe(200);
      expect(events.map((e) => e.event)).toEqual(['end']);
    }
  });

  it('replays a settled order in event order when its ids cross a power of ten (found following an order as a user)', async () => {
    // Before the fix the history was sorted by the id as text: "1000" < "1001" < "58", so a stream
    // opened after the order settled sent CONFIRMED first and ended without PENDING and PROCESSING.
    const id = await placeOrder();
    const [{ last }] = await sut.dataSource.query<{ last: string }[]>(
      `SELECT last_value::text AS last FROM order_status_history_id_seq`,
    );
    await sut.dataSource.query(`SELECT setval('order_status_history_id_seq', $1)`, [
      10 ** (last.length + 1) - 1,
    ]);
    await move('PROCESSING', id);
    await move('CONFIRMED', id);

    const { events } = await readEvents(`${sut.url}/api/v1/orders/${id}/events`, token);
    const statusEvents = events.filter((e) => e.event === 'status');
    expect(statusEvents.map((e) => JSON.parse(e.data).status)).toEqual([
      'PENDING',
      'PROCESSING',
      'CONFIRMED',
    ]);
    const ids = statusEvents.map((e) => BigInt(e.id!));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    expect(String(ids[1]).length).toBeGreaterThan(String(ids[0]).length);
    expect(events.at(-1)?.event).toBe('end');
  });
});
