import { randomUUID } from 'node:crypto';
import { QueueRegistry } from '../../src/platform/queue/queue.registry';
import { startTestApp, TestApp } from '../support/test-app';

/** Operator endpoints: dead letters, outbox replay, Bull Board and its browser session (ROLE=api). */
describe('Admin pipeline endpoints', () => {
  let sut: TestApp;
  let admin: string;
  let customer: string;
  const adminId = randomUUID();

  beforeAll(async () => {
    sut = await startTestApp();
    admin = await sut.tokenFor({ id: adminId, email: 'ops@example.com', role: 'admin' });
    customer = await sut.tokenFor({ id: randomUUID(), email: 'c@example.com', role: 'customer' });
  });
  afterAll(() => sut.close());

  async function deadLetter(overrides: Record<string, unknown> = {}): Promise<string> {
    const row = {
      queue: 'notification-sending',
      job_name: 'send-notification',
      job_id: randomUUID(),
      failure_reason: 'ATTEMPTS_EXHAUSTED',
      ...overrides,
    };
    const [{ id }] = await sut.dataSource.query<{ id: string }[]>(
      `INSERT INTO dead_letters (queue, job_name, job_id, payload, error, failure_reason, attempts)
       VALUES ($1, $2, $3, '{"notificationId":"n-1"}', 'smtp down', $4, 8) RETURNING id`,
      [row.queue, row.job_name, row.job_id, row.failure_reason],
    );
    return id;
  }
  const asAdmin = (req: import('supertest').Test) => req.set('authorization', `Bearer ${admin}`);

  describe('dead letters', () => {
    it('are for admins only', async () => {
      await sut.http().get('/api/v1/admin/dead-letters').expect(401);
      await sut
        .http()
        .get('/api/v1/admin/dead-letters')
        .set('authorization', `Bearer ${customer}`)
        .expect(403);
    });

    it('lists with pagination and filters by queue, failure reason and status', async () => {
      const id = await deadLetter({
        queue: 'payment-processing',
        job_name: 'charge-payment',
        failure_reason: 'PERMANENT_FAILURE',
      });
      const res = await asAdmin(
        sut
          .http()
          .get(
            '/api/v1/admin/dead-letters?queue=payment-processing&reason=PERMANENT_FAILURE&status=OPEN&limit=100',
          ),
      ).expect(200);
      expect(res.body.meta).toMatchObject({ page: 1, limit: 100 });
      expect(res.body.data.map((d: { id: string }) => d.id)).toContain(id);
      expect(
        res.body.data.every(
          (d: { queue: string; failureReason: string }) =>
            d.queue === 'payment-processing' && d.failureReason === 'PERMANENT_FAILURE',
        ),
      ).toBe(true);
      await asAdmin(sut.http().get('/api/v1/admin/dead-letters?queue=nope')).expect(400);
    });

    it('replays one with 202 under a new job id, then refuses a second replay with 409', async () => {
      const id = await deadLetter();
      const res = await asAdmin(
        sut
          .http()
          .post(`/api/v1/admin/dead-letters/${id}/replay`)
          .send({ payload: { notificationId: 'n-2' } }),
      ).expect(202);
      expect(res.body).toMatchObject({
        status: 'REPLAYED',
        replayedJobId: `${id}-replay-1`,
        payload: { notificationId: 'n-2' },
      });
      const job = await sut.get(QueueRegistry).get('notification-sending').getJob(`${id}-replay-1`);
      expect(job?.data).toEqual({ notificationId: 'n-2' });

      const again = await asAdmin(sut.http().post(`/api/v1/admin/dead-letters/${id}/replay`).send({})).expect(
        409,
      );
      expect(again.headers['content-type']).toMatch(/application\/problem\+json/);
      await asAdmin(sut.http().post(`/api/v1/admin/dead-letters/${randomUUID()}/replay`).send({})).expect(
        404,
      );
    });

    it('discards one with 204 and an audit record', async () => {
      const id = await deadLetter();
      await asAdmin(sut.http().delete(`/api/v1/admin/dead-letters/${id}?reason=duplicate%20email`)).expect(
        204,
      );
      const res = await asAdmin(sut.http().get(`/api/v1/admin/dead-letters/${id}`)).expect(200);
      expect(res.body.status).toBe('DISCARDED');
      const audit = await sut.dataSource.query(
        `SELECT action, actor_id, details FROM audit_log WHERE subject_id = $1`,
        [id],
      );
      expect(audit).toEqual([
        {
          action: 'dead_letter.discarded',
          actor_id: adminId,
          details: expect.objectContaining({ reason: 'duplicate email' }),
        },
      ]);
      await asAdmin(sut.http().delete(`/api/v1/admin/dead-letters/${id}`)).expect(409);
    });
  });

  describe('outbox replay', () => {
    it('schedules the processed events of one aggregate for another publication', async () => {
      const aggregateId = randomUUID();
      const [{ id }] = await sut.dataSource.query<{ id: string }[]>(
        `INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload, processed_at)
         VALUES ('order', $1, 'OrderConfirmed', $2, now()) RETURNING id`,
        [aggregateId, JSON.stringify({ orderId: aggregateId, userId: randomUUID() })],
      );
      const res = await asAdmin(sut.http().post('/api/v1/admin/outbox/replay').send({ aggregateId })).expect(
        202,
      );
      expect(res.body).toEqual({ scheduled: 1, eventIds: [id] });
      const [row] = await sut.dataSource.query(
        `SELECT processed_at, replay_count FROM outbox_events WHERE id = $1`,
        [id],
      );
      expect(row).toEqual({ processed_at: null, replay_count: 1 });
    });

    it('lists parked events and replays one by its event id, leaving the others parked', async () => {
      const aggregateId = randomUUID();
      const park = async (type: string): Promise<string> => {
        const [{ id }] = await sut.dataSource.query<{ id: string }[]>(
          `INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload, attempts, last_error, parked_at)
           VALUES ('order', $1, $2, '{}', 10, 'broker said no', now()) RETURNING id`,
          [aggregateId, type],
        );
        return id;
      };
      const first = await park('OrderConfirmed');
      const second = await park('OrderCancelled');
      const listed = await asAdmin(sut.http().get('/api/v1/admin/outbox/parked?limit=100')).expect(200);
      const mine = listed.body.data.filter((e: { aggregateId: string }) => e.aggregateId === aggregateId);
      expect(mine.map((e: { id: string }) => e.id).sort()).toEqual([first, second].sort());
      expect(mine[0]).toMatchObject({
        attempts: 10,
        lastError: 'broker said no',
        parkedAt: expect.any(String),
      });

      const res = await asAdmin(
        sut.http().post('/api/v1/admin/outbox/replay').send({ eventId: first }),
      ).expect(202);
      expect(res.body).toEqual({ scheduled: 1, eventIds: [first] });
      const rows = await sut.dataSource.query<{ id: string; parked: boolean }[]>(
        `SELECT id, parked_at IS NOT NULL AS parked FROM outbox_events WHERE aggregate_id = $1`,
        [aggregateId],
      );
      expect(Object.fromEntries(rows.map((r) => [r.id, r.parked]))).toEqual({
        [first]: false,
        [second]: true,
      });
      await sut
        .http()
        .get('/api/v1/admin/outbox/parked')
        .set('authorization', `Bearer ${customer}`)
        .expect(403);
    });

    it('needs an aggregate id or a from–to window', async () => {
      await asAdmin(sut.http().post('/api/v1/admin/outbox/replay').send({})).expect(400);
      await asAdmin(
        sut
          .http()
          .post('/api/v1/admin/outbox/replay')
          .send({ from: '2024-01-02T00:00:00Z', to: '2024-01-01T00:00:00Z' }),
      ).expect(400);
      await asAdmin(
        sut
          .http()
          .post('/api/v1/admin/outbox/replay')
          .send({ from: '2024-01-01T00:00:00Z', to: '2024-01-02T00:00:00Z' }),
      ).expect(202);
      // null is not "the default": it would have meant no limit at all.
      await asAdmin(
        sut.http().post('/api/v1/admin/outbox/replay').send({ aggregateId: randomUUID(), limit: null }),
      ).expect(400);
      await sut
        .http()
        .post('/api/v1/admin/outbox/replay')
        .set('authorization', `Bearer ${customer}`)
        .send({ aggregateId: randomUUID() })
        .expect(403);
    });
  });

  describe('sagas', () => {
    it('lists the sagas needing attention with their pending compensations, for admins only', async () => {
      const [{ id: userId }] = await sut.dataSource.query<{ id: string }[]>(
        `INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, 'x', 'A', 'B') RETURNING id`,
        [`saga-${randomUUID()}@example.com`],
      );
      const [{ id: orderId }] = await sut.dataSource.query<{ id: string }[]>(
        `INSERT INTO orders (user_id, status, total_amount) VALUES ($1, 'PROCESSING', 10) RETURNING id`,
        [userId],
      );
      await sut.dataSource.query(
        `INSERT INTO saga_state (order_id, status, current_step, failure_reason, data)
         VALUES ($1, 'NEEDS_ATTENTION', 'chargePayment', 'REFUND_FAILED', '{"compensation": {"pending": ["chargePayment"]}}')`,
        [orderId],
      );
      const res = await asAdmin(sut.http().get('/api/v1/admin/sagas?limit=100')).expect(200);
      const mine = res.body.data.find((s: { orderId: string }) => s.orderId === orderId);
      expect(mine).toMatchObject({
        status: 'NEEDS_ATTENTION',
        currentStep: 'chargePayment',
        failureReason: 'REFUND_FAILED',
        pendingCompensations: ['chargePayment'],
      });
      const running = await asAdmin(sut.http().get('/api/v1/admin/sagas?status=RUNNING&limit=100')).expect(
        200,
      );
      expect(running.body.data.some((s: { orderId: string }) => s.orderId === orderId)).toBe(false);
      await asAdmin(sut.http().get('/api/v1/admin/sagas?status=LOST')).expect(400);
      await sut.http().get('/api/v1/admin/sagas').set('authorization', `Bearer ${customer}`).expect(403);
    });
  });

  describe('Bull Board', () => {
    it('answers 401 without credentials and 403 to a customer', async () => {
      const res = await sut.http().get('/admin/queues').expect(401);
      expect(res.body.detail).toMatch(/admin\/queues\/session/);
      await sut.http().get('/admin/queues').set('authorization', `Bearer ${customer}`).expect(403);
      await sut.http().get('/admin/queues/api/queues').expect(401);
    });

    it('accepts the Bearer scheme in any letter case (RFC 9110) and puts the correlation id in its errors', async () => {
      await sut.http().get('/admin/queues').set('authorization', `bearer ${admin}`).expect(200);
      const refused = await sut.http().get('/admin/queues').set('x-correlation-id', 'board-401').expect(401);
      expect(refused.body).toMatchObject({ status: 401, correlationId: 'board-401' });
      // The board's own errors keep their shape (its UI reads error.key) and lose any stack trace.
      const missing = await sut
        .http()
        .get('/admin/queues/api/queues/no-such-queue/metrics')
        .set('authorization', `BEARER ${admin}`)
        .set('x-correlation-id', 'board-404')
        .expect(404);
      expect(missing.body).toMatchObject({ error: { key: expect.any(String) }, correlationId: 'board-404' });
      expect(missing.body.details).toBeUndefined();
    });

    it('serves the board and its API to an admin bearer token', async () => {
      const page = await sut.http().get('/admin/queues').set('authorization', `Bearer ${admin}`).expect(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      const api = await sut
        .http()
        .get('/admin/queues/api/queues')
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
      expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([
        'inventory-management',
        'notification-sending',
        'order-processing',
        'payment-processing',
        'webhook-delivery',
        'webhook-fan-out',
      ]);
    });

    it('opens a short-lived HttpOnly browser session for an admin, and only for an admin', async () => {
      await sut
        .http()
        .post('/api/v1/admin/queues/session')
        .set('authorization', `Bearer ${customer}`)
        .expect(403);
      const res = await sut
        .http()
        .post('/api/v1/admin/queues/session')
        .set('authorization', `Bearer ${admin}`)
        .expect(204);
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(
        /^aop_board_session=[^;]+; Path=\/admin\/queues; Max-Age=900; HttpOnly; SameSite=Strict/,
      );
      const session = cookie.split(';')[0];
      await sut.http().get('/admin/queues').set('cookie', session).expect(200);
      // The board cookie is not an API token, and an API token is not a board cookie.
      await sut
        .http()
        .get('/api/v1/admin/dead-letters')
        .set('authorization', `Bearer ${session.split('=')[1]}`)
        .expect(401);
      await sut.http().get('/admin/queues').set('cookie', `aop_board_session=${admin}`).expect(401);
    });
  });

  describe('Bull Board sessions end on the server (two API processes share the revocations)', () => {
    let other: TestApp;

    beforeAll(async () => {
      other = await startTestApp();
    });
    afterAll(() => other.close());

    async function openSession(): Promise<string> {
      const res = await asAdmin(sut.http().post('/api/v1/admin/queues/session')).expect(204);
      return String(res.headers['set-cookie']).split(';')[0];
    }
    const clean = (app: TestApp, session: string) =>
      app.http().put('/admin/queues/api/queues/notification-sending/clean/completed').set('cookie', session);

    it('refuses the old cookie everywhere, for the board and its actions, once the browser closes the session', async () => {
      const session = await openSession();
      await other.http().get('/admin/queues').set('cookie', session).expect(200);
      await clean(other, session).expect(200);

      // The cookie's path is /admin/queues, so this is where a browser sends it to sign out.
      const closed = await sut.http().delete('/admin/queues/session').set('cookie', session).expect(204);
      expect(String(closed.headers['set-cookie'])).toMatch(
        /^aop_board_session=; Path=\/admin\/queues; Max-Age=0/,
      );

      for (const app of [sut, other]) {
        const page = await app.http().get('/admin/queues').set('cookie', session).expect(401);
        expect(page.headers['content-type']).toMatch(/^application\/problem\+json/);
        await clean(app, session).expect(401);
      }
      // Signing out again is harmless.
      await other.http().delete('/admin/queues/session').set('cookie', session).expect(204);
    });

    it('revokes every board session of the admin calling DELETE /api/v1/admin/queues/session, and no later one', async () => {
      const [first, second] = [await openSession(), await openSession()];
      await asAdmin(sut.http().delete('/api/v1/admin/queues/session')).expect(204);
      for (const session of [first, second]) {
        await other.http().get('/admin/queues').set('cookie', session).expect(401);
      }
      const later = await openSession();
      await other.http().get('/admin/queues').set('cookie', later).expect(200);
      // Without credentials it only clears the cookie, as before.
      await sut.http().delete('/api/v1/admin/queues/session').expect(204);
      await other.http().get('/admin/queues').set('cookie', later).expect(200);
    });
  });

  it('the detailed health has a probe per queue (counts, degraded flag) and the outbox backlog', async () => {
    const res = await asAdmin(sut.http().get('/api/v1/health/detailed')).expect(200);
    expect(res.body.details['queue:order-processing']).toMatchObject({
      status: 'up',
      waiting: expect.any(Number),
      failed: expect.any(Number),
      degraded: false,
    });
    expect(res.body.details.outbox).toMatchObject({
      status: 'up',
      pending: expect.any(Number),
      oldestPendingAgeSeconds: expect.any(Number),
    });
  });

  it('readiness includes the queues', async () => {
    const res = await sut.http().get('/api/v1/health/ready').expect(200);
    expect(res.body.details.queues).toMatchObject({ status: 'up' });
  });
});
