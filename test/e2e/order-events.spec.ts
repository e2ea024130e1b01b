import { randomUUID } from 'node:crypto';
import { OrderStatus } from '../../src/modules/orders/order-status';
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

/** An open SSE stream read as it arrives: `until` waits for a condition on the events seen so far. */
function openStream(url: string, token: string) {
  const events: SseEvent[] = [];
  const waiters: {
    check: (events: SseEvent[]) => boolean;
    resolve: () => void;
    reject: (error: Error) => void;
  }[] = [];
  const notify = () => {
    for (const waiter of [...waiters]) {
      if (waiter.check(events)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const ended = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event: SseEvent = { data: '' };
        for (const line of block.split('\n')) {
          const [field, ...rest] = line.split(': ');
          if (field === 'id' || field === 'event' || field === 'data') {
            event[field] = rest.join(': ');
          }
        }
        if (block.includes('data:')) {
          events.push(event);
          notify();
        }
      }
    }
    // A stream that ended before a waited-for event fails the wait at once instead of timing out.
    for (const waiter of waiters.splice(0)) {
      waiter.reject(new Error(`the stream ended after ${JSON.stringify(events)}`));
    }
  })();
  return {
    events,
    ended,
    until: (check: (events: SseEvent[]) => boolean) =>
      check(events)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => waiters.push({ check, resolve, reject })),
  };
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
    token = await sut.tokenFor({ id: userId, email, role: 'customer' });
    [{ id: productId }] = await sut.dataSource.query(
      `INSERT INTO products (sku, name, price) VALUES ($1, 'P', 5) RETURNING id`,
      [`SKU-${randomUUID()}`],
    );
    orderId = await placeOrder();
  });
  afterAll(() => sut.close());

  async function move(to: OrderStatus, id = orderId): Promise<void> {
    const change = await sut.dataSource.transaction((tx) => statuses.transition(tx, id, to));
    await statuses.publish(change);
  }

  it('streams PENDING → … → final live, then ends; Last-Event-ID resumes after what the client saw', async () => {
    const stream = readEvents(`${sut.url}/api/v1/orders/${orderId}/events`, token);
    await new Promise((r) => setTimeout(r, 100));
    await move('PROCESSING');
    await move('CONFIRMED');
    // CONFIRMED is not final (issue 20): the stream goes on to the cancellation.
    await move('CANCELLED');

    const { status, events } = await stream;
    expect(status).toBe(200);
    const statusEvents = events.filter((e) => e.event === 'status');
    expect(statusEvents.map((e) => JSON.parse(e.data).status)).toEqual([
      'PENDING',
      'PROCESSING',
      'CONFIRMED',
      'CANCELLED',
    ]);
    expect(events.at(-1)?.event).toBe('end');

    const resumed = await readEvents(`${sut.url}/api/v1/orders/${orderId}/events`, token, statusEvents[0].id);
    expect(resumed.events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status)).toEqual([
      'PROCESSING',
      'CONFIRMED',
      'CANCELLED',
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

  it('answers 400 for a Last-Event-ID that cannot be an event id, before streaming', async () => {
    // Found by an attacker: one beyond bigint failed every catch-up query of a live stream (an error every 3 s).
    for (const lastEventId of ['9223372036854775808', '99999999999999999999999', '-1', '12abc']) {
      const res = await sut
        .http()
        .get(`/api/v1/orders/${orderId}/events`)
        .set('authorization', `Bearer ${token}`)
        .set('last-event-id', lastEventId)
        .expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors).toEqual([{ field: 'Last-Event-ID', message: expect.any(String) }]);
    }
    const largest = await readEvents(
      `${sut.url}/api/v1/orders/${orderId}/events`,
      token,
      '9223372036854775807',
    );
    expect(largest.status).toBe(200);
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
    await move('CANCELLED', id);

    const { events } = await readEvents(`${sut.url}/api/v1/orders/${id}/events`, token);
    const statusEvents = events.filter((e) => e.event === 'status');
    expect(statusEvents.map((e) => JSON.parse(e.data).status)).toEqual([
      'PENDING',
      'PROCESSING',
      'CONFIRMED',
      'CANCELLED',
    ]);
    const ids = statusEvents.map((e) => BigInt(e.id!));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    expect(String(ids[1]).length).toBeGreaterThan(String(ids[0]).length);
    expect(events.at(-1)?.event).toBe('end');
  });

  describe('replays the whole history, ending only at a final status (issue 20)', () => {
    it('replays a delivered-then-refunded order up to REFUNDED, then ends', async () => {
      // Before the fix the replay stopped at CONFIRMED and sent `end`.
      const id = await placeOrder();
      for (const to of ['PROCESSING', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'REFUNDED'] as const) {
        await move(to, id);
      }

      const { events } = await readEvents(`${sut.url}/api/v1/orders/${id}/events`, token);

      expect(events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status)).toEqual([
        'PENDING',
        'PROCESSING',
        'CONFIRMED',
        'SHIPPED',
        'DELIVERED',
        'REFUNDED',
      ]);
      expect(events.at(-1)?.event).toBe('end');
    });

    it('keeps the stream of a shipped order open: DELIVERED, then REFUNDED arrive live, then it ends', async () => {
      const id = await placeOrder();
      for (const to of ['PROCESSING', 'CONFIRMED', 'SHIPPED'] as const) {
        await move(to, id);
      }
      const stream = openStream(`${sut.url}/api/v1/orders/${id}/events`, token);
      await stream.until((events) =>
        events.some((e) => e.event === 'status' && e.data.includes('"SHIPPED"')),
      );
      expect(stream.events.map((e) => e.event)).not.toContain('end');

      await move('DELIVERED', id);
      await stream.until((events) => events.some((e) => e.data.includes('"DELIVERED"')));
      expect(stream.events.map((e) => e.event)).not.toContain('end');
      await move('REFUNDED', id);
      await stream.ended;

      expect(stream.events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status)).toEqual(
        ['PENDING', 'PROCESSING', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'REFUNDED'],
      );
      expect(stream.events.at(-1)?.event).toBe('end');
    });
  });
});
