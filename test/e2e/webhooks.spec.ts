import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { QUEUES } from '../../src/platform/queue/queue-names';
import { QueueRegistry } from '../../src/platform/queue/queue.registry';
import { RetentionRegistry } from '../../src/platform/retention/retention.registry';
import { WebhookEndpointsRepository } from '../../src/modules/webhooks/webhook-endpoints.repository';
import { WebhookSecretBox } from '../../src/modules/webhooks/webhook-secret-box';
import { newWebhookSecret } from '../../src/modules/webhooks/webhook-signature';
import { createProduct } from '../factories/product.factory';
import { createUserWithToken } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { startTestApp, TestApp } from '../support/test-app';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';

/**
 * Outbound webhooks end to end: the whole app (ROLE=all) sends to a real HTTP receiver on 127.0.0.1, and
 * every signature is checked with the `standardwebhooks` package (v1), not with our own code.
 */
describe('Webhooks', () => {
  let sut: TestApp;
  let db: { url: string; drop: () => Promise<void> };
  let admin: string;
  const receiver = new WebhookReceiver();
  const asAdmin = (req: import('supertest').Test) => req.set('authorization', `Bearer ${admin}`);

  beforeAll(async () => {
    db = await createIsolatedDatabase();
    sut = await startTestApp({
      ROLE: 'all',
      DATABASE_URL: db.url,
      QUEUE_PREFIX: isolatedQueuePrefix('webhooks'),
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
      WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,300ms,500ms,1s,1s,2s,2s',
      WEBHOOK_DISPATCH_INTERVAL_MS: '50',
      WEBHOOK_TIMEOUT_MS: '3000',
      WEBHOOK_DELIVERY_CONCURRENCY: '3',
      WEBHOOK_ENDPOINT_CONCURRENCY: '2',
      QUEUE_PROGRESS_INTERVAL_MS: '100',
    });
    admin = (await createUserWithToken(sut, { role: 'admin' })).token;
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
    await sut.close();
    await db.drop();
  });
  beforeEach(() => {
    receiver.respond = () => 200;
  });

  async function register(path: string, events: string[]): Promise<{ id: string; secret: string }> {
    const res = await asAdmin(sut.http().post('/api/v1/webhooks/endpoints'))
      .send({ url: `${receiver.url}${path}`, events, description: path })
      .expect(201);
    return res.body as { id: string; secret: string };
  }

  async function deliveries(endpointId: string, query = ''): Promise<Record<string, unknown>[]> {
    const res = await asAdmin(
      sut.http().get(`/api/v1/webhooks/endpoints/${endpointId}/deliveries?limit=100${query}`),
    ).expect(200);
    return res.body.data as Record<string, unknown>[];
  }

  async function placeOrder(): Promise<string> {
    const { token } = await createUserWithToken(sut);
    const product = await createProduct(sut.dataSource, { stock: 5 });
    const res = await sut
      .http()
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${token}`)
      .send({ items: [{ productId: product.id, quantity: 1 }], paymentToken: 'tok_success' })
      .expect(202);
    return res.body.id as string;
  }

  const verify = (secret: string, request: ReceivedWebhook) =>
    new Webhook(secret).verify(request.body, request.headers) as Record<string, unknown>;

  describe('registration', () => {
    it('answers 201 with a whsec_ secret of at least 24 random bytes, shown only on creation', async () => {
      const created = await register('/created', ['order.confirmed']);
      expect(created).toMatchObject({
        url: `${receiver.url}/created`,
        events: ['order.confirmed'],
        status: 'enabled',
      });
      expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(Buffer.from(created.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
      const read = await asAdmin(sut.http().get(`/api/v1/webhooks/endpoints/${created.id}`)).expect(200);
      expect(read.body.secret).toBeUndefined();
      const stored = await sut.dataSource.query(
        'SELECT secret_ciphertext FROM webhook_endpoints WHERE id = $1',
        [created.id],
      );
      expect(JSON.stringify(stored)).not.toContain(created.secret.slice('whsec_'.length));
      await asAdmin(sut.http().delete(`/api/v1/webhooks/endpoints/${created.id}`)).expect(204);
      await asAdmin(sut.http().get(`/api/v1/webhooks/endpoints/${created.id}`)).expect(404);
    });

    it.each([
      ['a URL that is not one', { url: 'not a url', events: ['order.created'] }, 'url'],
      ['an unknown event type', { url: 'https://example.com/h', events: ['order.exploded'] }, 'events'],
      ['an empty event list', { url: 'https://example.com/h', events: [] }, 'events'],
    ])('refuses %s with a 400 problem naming the field', async (_name, body, field) => {
      const res = await asAdmin(sut.http().post('/api/v1/webhooks/endpoints')).send(body).expect(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect((res.body.errors as { field: string }[]).map((e) => e.field.split('.')[0])).toContain(field);
    });

    it('is for admins only', async () => {
      const { token } = await createUserWithToken(sut);
      await sut.http().get('/api/v1/webhooks/endpoints').expect(401);
      await sut.http().get('/api/v1/webhooks/endpoints').set('authorization', `Bearer ${token}`).expect(403);
    });

    it('documents every event type in the OpenAPI document’s webhooks section', async () => {
      const doc = (await sut.http().get('/api/docs-json').expect(200)).body as {
        openapi: string;
        webhooks: Record<string, { post: { requestBody: unknown } }>;
      };
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.webhooks)).toEqual(
        expect.arrayContaining([
          'order.created',
          'order.confirmed',
          'order.payment_failed',
          'order.cancelled',
          'order.shipped',
          'order.delivered',
          'order.refunded',
          'webhook.test',
        ]),
      );
    });
  });

  describe('delivery', () => {
    it('sends order events signed for standardwebhooks; a 500 is retried with the same webhook-id', async () => {
      const endpoint = await register('/orders', ['order.created', 'order.confirmed']);
      // The first attempt of every message fails.
      receiver.respond = (req, seen) =>
        seen.filter((r) => r.headers['webhook-id'] === req.headers['webhook-id']).length === 1 ? 500 : 200;
      const orderId = await placeOrder();

      const ofOrder = () => receiver.for('/orders').filter((r) => r.body.includes(orderId));
      await eventually(() => ofOrder().filter((r) => r.body.includes('order.confirmed')).length === 2, {
        what: 'order.confirmed delivered twice',
      });
      const created = ofOrder().filter((r) => r.body.includes('"order.created"'));
      expect(created).toHaveLength(2);
      expect(created[0].headers['webhook-id']).toBe(created[1].headers['webhook-id']);
      expect(created[0].body).toBe(created[1].body);
      for (const request of ofOrder()) {
        verify(endpoint.secret, request);
      }
      const confirmed = verify(
        endpoint.secret,
        ofOrder().find((r) => r.body.includes('order.confirmed'))!,
      );
      expect(confirmed).toMatchObject({
        type: 'order.confirmed',
        version: 1,
        data: {
          orderId,
          status: 'CONFIRMED',
          currency: expect.any(String),
          totalAmount: expect.stringMatching(/^\d+\.\d{2}$/),
          userId: expect.any(String),
        },
      });
      expect(new Date(confirmed.timestamp as string).getTime()).not.toBeNaN();

      const list = await eventually(async () => {
        const rows = await deliveries(endpoint.id, '&status=succeeded&eventType=order.created');
        return rows.length === 1 && rows;
      });
      expect(list[0]).toMatchObject({
        eventType: 'order.created',
        attempts: 2,
        lastStatusCode: 200,
        status: 'succeeded',
        lastResponseBody: 'answered 200',
      });
      await asAdmin(sut.http().patch(`/api/v1/webhooks/endpoints/${endpoint.id}`))
        .send({ status: 'disabled' })
        .expect(200);
    });

    it('a tampered body fails verification', async () => {
      const endpoint = await register('/tamper', ['order.refunded']);
      await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).expect(202);
      const request = await eventually(() => receiver.for('/tamper')[0]);
      expect(verify(endpoint.secret, request)).toMatchObject({ type: 'webhook.test' });
      const tampered = { ...request, body: request.body.replace('webhook.test', 'webhook.tesT') };
      expect(() => verify(endpoint.secret, tampered)).toThrow(WebhookVerificationError);
      expect(() => verify(newWebhookSecret(), request)).toThrow(WebhookVerificationError);
    });

    it('a receiver down for a while gets everything once it is back', async () => {
      const down = new WebhookReceiver();
      await down.start();
      const url = down.url;
      await down.stop();
      const res = await asAdmin(sut.http().post('/api/v1/webhooks/endpoints'))
        .send({ url: `${url}/down`, events: ['order.created'] })
        .expect(201);
      const endpoint = res.body as { id: string; secret: string };
      const orders = [await placeOrder(), await placeOrder()];
      await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).expect(202);
      await eventually(
        async () => {
          const rows = await deliveries(endpoint.id);
          return (
            rows.length === 3 && rows.every((d) => (d.attempts as number) >= 1 && d.status === 'pending')
          );
        },
        { what: 'three failed first attempts' },
      );

      await down.start();
      try {
        await eventually(async () => (await deliveries(endpoint.id, '&status=succeeded')).length === 3, {
          what: 'everything delivered',
        });
        for (const orderId of orders) {
          expect(down.received.filter((r) => r.body.includes(orderId)).length).toBeGreaterThanOrEqual(1);
        }
        for (const request of down.received) {
          verify(endpoint.secret, request);
        }
      } finally {
        await down.stop();
      }
    });

    it('one slow receiver never holds the slots of the others', async () => {
      const slow = await register('/slow', ['order.cancelled']);
      const fast = await register('/fast', ['order.cancelled']);
      receiver.respond = (req) => (req.path === '/slow' ? 'hold' : 200);
      for (let i = 0; i < 4; i++) {
        await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${slow.id}/test`)).expect(202);
      }
      await eventually(() => receiver.heldCount === 2, { what: 'the slow endpoint at its concurrency' });
      // A held attempt shows where it is through the job's progress (Bull Board, the queue API).
      const progress = await eventually(
        async () => {
          const active = await sut.get(QueueRegistry).get(QUEUES.webhookDelivery).getActive();
          return active.map((j) => j.progress).find((p) => typeof p === 'object' && p !== null);
        },
        { what: 'a held attempt reporting its progress' },
      );
      // The delivery's attempt number, and the job's own `attempt` (each delivery attempt is a job of its own).
      expect(progress).toEqual({
        stage: 'sending',
        deliveryAttempt: 1,
        maxAttempts: expect.any(Number),
        attempt: 1,
      });
      await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${fast.id}/test`)).expect(202);
      // Three delivery slots in all: two held by the slow receiver, the third still serves the fast one.
      await eventually(() => receiver.for('/fast').length === 1, { what: 'the fast endpoint served' });
      expect(receiver.heldCount).toBe(2);
      receiver.release();
      receiver.respond = () => 200;
      await eventually(async () => (await deliveries(slow.id, '&status=succeeded')).length === 4);
    });

    it('after a rotation, deliveries carry both signatures and each secret verifies', async () => {
      const endpoint = await register('/rotate', ['order.delivered']);
      const rotated = await asAdmin(
        sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`),
      ).expect(200);
      const secret = rotated.body.secret as string;
      expect(secret).not.toBe(endpoint.secret);
      expect(rotated.body.previousSecretExpiresAt).toEqual(expect.any(String));
      await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).expect(202);
      const request = await eventually(() => receiver.for('/rotate')[0]);
      expect(request.headers['webhook-signature'].split(' ')).toHaveLength(2);
      verify(secret, request);
      verify(endpoint.secret, request);
    });

    it('never sends unsigned: a secret sealed under another key fails the attempts until it is rotated', async () => {
      const elsewhere = new WebhookSecretBox(Buffer.alloc(32, 7));
      const endpoint = await sut
        .get(WebhookEndpointsRepository)
        .insert(
          { url: `${receiver.url}/rekeyed`, description: null, events: ['order.created'] },
          elsewhere.seal(newWebhookSecret()),
        );
      await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).expect(202);
      const [delivery] = await eventually(async () => {
        const rows = (
          await asAdmin(sut.http().get(`/api/v1/webhooks/endpoints/${endpoint.id}/deliveries`)).expect(200)
        ).body.data as Record<string, unknown>[];
        return rows.length === 1 && (rows[0].attempts as number) >= 1 && rows;
      });
      expect(delivery.lastError).toMatch(/cannot be decrypted/);
      expect(receiver.for('/rekeyed')).toHaveLength(0);

      const rotated = await asAdmin(
        sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`),
      ).expect(200);
      // A new event (the first one may have run out of retries meanwhile): signed with the new secret only.
      await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).expect(202);
      const request = await eventually(() => receiver.for('/rekeyed')[0], {
        what: 'a delivery after the rotation',
      });
      expect(request.headers['webhook-signature'].split(' ')).toHaveLength(1);
      verify(rotated.body.secret as string, request);
    });

    it('410 Gone disables the endpoint at once', async () => {
      const endpoint = await register('/gone', ['order.shipped']);
      receiver.respond = (req) => (req.path === '/gone' ? 410 : 200);
      await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).expect(202);
      const disabled = await eventually(async () => {
        const res = await asAdmin(sut.http().get(`/api/v1/webhooks/endpoints/${endpoint.id}`)).expect(200);
        return res.body.status === 'disabled' && res.body;
      });
      expect(disabled.disabledReason).toContain('410');
      expect(await deliveries(endpoint.id)).toEqual([
        expect.objectContaining({ status: 'failed', attempts: 1, lastStatusCode: 410 }),
      ]);
      await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).expect(409);
      expect(receiver.for('/gone')).toHaveLength(1);
    });

    it('POST /webhooks/deliveries/:id/retry delivers again now with the same webhook-id', async () => {
      const endpoint = await register('/retry', ['order.created']);
      const test = await asAdmin(sut.http().post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).expect(
        202,
      );
      const deliveryId = test.body.id as string;
      await eventually(async () => (await deliveries(endpoint.id, '&status=succeeded')).length === 1);
      const retried = await asAdmin(
        sut.http().post(`/api/v1/webhooks/deliveries/${deliveryId}/retry`),
      ).expect(202);
      expect(retried.body).toMatchObject({ id: deliveryId, status: 'pending' });
      await eventually(() => receiver.for('/retry').length === 2);
      const [first, second] = receiver.for('/retry');
      expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
      verify(endpoint.secret, second);
      await eventually(async () => (await deliveries(endpoint.id))[0].attempts === 2);
      await asAdmin(
        sut.http().post('/api/v1/webhooks/deliveries/00000000-0000-4000-8000-000000000000/retry'),
      ).expect(404);
    });
  });

  describe('SSRF', () => {
    // An application of its own, with its own database: the main one's workers may reach private targets.
    let strict: TestApp;
    let strictDb: { url: string; drop: () => Promise<void> };
    let strictAdmin: string;

    beforeAll(async () => {
      strictDb = await createIsolatedDatabase();
      strict = await startTestApp({
        ROLE: 'all',
        DATABASE_URL: strictDb.url,
        QUEUE_PREFIX: isolatedQueuePrefix('webhooks-strict'),
        WEBHOOK_ALLOW_INSECURE: 'false',
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false',
        WEBHOOK_DISPATCH_INTERVAL_MS: '50',
        WEBHOOK_RETRY_SCHEDULE: '1h',
      });
      strictAdmin = (await createUserWithToken(strict, { role: 'admin' })).token;
    });
    afterAll(async () => {
      await strict.close();
      await strictDb.drop();
    });

    it.each([
      ['plain http', 'http://example.com/hook'],
      ['a loopback address', 'https://127.0.0.1/hook'],
      ['a name resolving to loopback', 'https://localhost/hook'],
      ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data'],
      ['a private address', 'https://10.1.2.3/hook'],
      ['an IPv6 loopback', 'https://[::1]/hook'],
      ['an IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hook'],
    ])('refuses %s at registration (400 naming url)', async (_name, url) => {
      const res = await strict
        .http()
        .post('/api/v1/webhooks/endpoints')
        .set('authorization', `Bearer ${strictAdmin}`)
        .send({ url, events: ['order.created'] })
        .expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'url' })]);
    });

    it('re-checks the target at send time: a name that now resolves to loopback is not contacted', async () => {
      // As if the DNS answer changed after registration (rebinding): the row is written past the API's check.
      const box = new WebhookSecretBox(strict.config.webhooks.secretsKey);
      const repository = strict.get(WebhookEndpointsRepository);
      const port = new URL(receiver.url).port;
      const byName = await repository.insert(
        { url: `http://localhost:${port}/rebound`, description: null, events: ['order.created'] },
        box.seal(newWebhookSecret()),
      );
      const byAddress = await repository.insert(
        { url: `http://127.0.0.1:${port}/rebound`, description: null, events: ['order.created'] },
        box.seal(newWebhookSecret()),
      );
      for (const endpoint of [byName, byAddress]) {
        await strict
          .http()
          .post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)
          .set('authorization', `Bearer ${strictAdmin}`)
          .expect(202);
      }
      for (const endpoint of [byName, byAddress]) {
        const [delivery] = await eventually(async () => {
          const rows = (
            await strict
              .http()
              .get(`/api/v1/webhooks/endpoints/${endpoint.id}/deliveries`)
              .set('authorization', `Bearer ${strictAdmin}`)
              .expect(200)
          ).body.data as Record<string, unknown>[];
          return rows.length === 1 && (rows[0].attempts as number) >= 1 && rows;
        });
        expect(delivery).toMatchObject({
          status: 'pending',
          lastStatusCode: null,
          lastError: expect.stringMatching(/loopback, private, link-local or metadata/),
        });
      }
      expect(receiver.for('/rebound')).toHaveLength(0);
    });
  });

  describe('an endpoint failing continuously', () => {
    let failing: TestApp;
    let failingDb: { url: string; drop: () => Promise<void> };

    beforeAll(async () => {
      failingDb = await createIsolatedDatabase();
      failing = await startTestApp({
        ROLE: 'all',
        DATABASE_URL: failingDb.url,
        QUEUE_PREFIX: isolatedQueuePrefix('webhooks-failing'),
        WEBHOOK_DISPATCH_INTERVAL_MS: '50',
        WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms',
        WEBHOOK_DISABLE_AFTER_SECONDS: '1',
        WEBHOOK_TIMEOUT_MS: '1000',
        WEBHOOK_LEASE_MS: '1500',
      });
    });
    afterAll(async () => {
      await failing.close();
      await failingDb.drop();
    });

    it('is disabled after WEBHOOK_DISABLE_AFTER_SECONDS, its pending deliveries discarded, and the metric counts it', async () => {
      const token = (await createUserWithToken(failing, { role: 'admin' })).token;
      const as = (req: import('supertest').Test) => req.set('authorization', `Bearer ${token}`);
      receiver.respond = (req) => (req.path === '/failing' ? 503 : 200);
      const res = await as(failing.http().post('/api/v1/webhooks/endpoints'))
        .send({ url: `${receiver.url}/failing`, events: ['order.created'] })
        .expect(201);
      const id = res.body.id as string;
      await as(failing.http().post(`/api/v1/webhooks/endpoints/${id}/test`)).expect(202);
      const disabled = await eventually(
        async () => {
          const endpoint = (await as(failing.http().get(`/api/v1/webhooks/endpoints/${id}`)).expect(200))
            .body;
          return endpoint.status === 'disabled' && endpoint;
        },
        { what: 'the endpoint disabled' },
      );
      expect(disabled.disabledReason).toMatch(/^failing since /);
      const [delivery] = (
        await as(failing.http().get(`/api/v1/webhooks/endpoints/${id}/deliveries`)).expect(200)
      ).body.data;
      expect(delivery).toMatchObject({ status: 'discarded', lastStatusCode: 503 });
      expect(delivery.attempts).toBeGreaterThanOrEqual(2);
      const metrics = parsePrometheusText((await failing.http().get('/metrics').expect(200)).text);
      expect(sampleValue(metrics, 'aop_webhook_endpoints_disabled_total', { reason: 'failing' })).toBe(1);
      expect(sampleValue(metrics, 'aop_webhook_attempts_total', { outcome: 'http_error' })).toBe(
        delivery.attempts,
      );
      // Enabled again, it starts with a clean record.
      const enabled = await as(failing.http().patch(`/api/v1/webhooks/endpoints/${id}`))
        .send({ status: 'enabled' })
        .expect(200);
      expect(enabled.body).toMatchObject({ status: 'enabled', failingSince: null, disabledReason: null });
    });

    it('an attempt whose job was lost (its worker died) is leased again once the lease runs out, and delivered', async () => {
      const token = (await createUserWithToken(failing, { role: 'admin' })).token;
      const res = await failing
        .http()
        .post('/api/v1/webhooks/endpoints')
        .set('authorization', `Bearer ${token}`)
        .send({ url: `${receiver.url}/lost`, events: ['order.created'] })
        .expect(201);
      // Leased to a job that no longer exists anywhere: only the lease's end brings it back.
      const [{ id }] = await failing.dataSource.query<{ id: string }[]>(
        `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, message_id, body, max_attempts,
           leased_until, lease_token)
         VALUES ($1, gen_random_uuid(), 'order.created', 'msg_lost', '{"type":"order.created"}', 3,
           now() + interval '1 second', gen_random_uuid()) RETURNING id`,
        [res.body.id],
      );
      await eventually(() => receiver.for('/lost').length === 1, { what: 'the lost attempt made again' });
      verify(res.body.secret as string, receiver.for('/lost')[0]);
      await eventually(async () => {
        const [row] = await failing.dataSource.query<{ status: string }[]>(
          'SELECT status FROM webhook_deliveries WHERE id = $1',
          [id],
        );
        return row.status === 'succeeded';
      });
    });

    it('a receiver slower than WEBHOOK_TIMEOUT_MS, and a redirect (not followed), are failed attempts retried later', async () => {
      const token = (await createUserWithToken(failing, { role: 'admin' })).token;
      const as = (req: import('supertest').Test) => req.set('authorization', `Bearer ${token}`);
      receiver.respond = (req) => (req.path === '/slowpoke' ? 'hold' : req.path === '/moved' ? 302 : 200);
      const ids: string[] = [];
      for (const path of ['/slowpoke', '/moved']) {
        const res = await as(failing.http().post('/api/v1/webhooks/endpoints'))
          .send({ url: `${receiver.url}${path}`, events: ['order.created'] })
          .expect(201);
        ids.push(res.body.id as string);
        await as(failing.http().post(`/api/v1/webhooks/endpoints/${res.body.id}/test`)).expect(202);
      }
      const firstAttempt = (id: string) =>
        eventually(async () => {
          const rows = (
            await as(failing.http().get(`/api/v1/webhooks/endpoints/${id}/deliveries`)).expect(200)
          ).body.data as Record<string, unknown>[];
          return rows.length === 1 && (rows[0].attempts as number) >= 1 && rows[0];
        });
      expect(await firstAttempt(ids[0])).toMatchObject({
        lastStatusCode: null,
        lastError: 'no answer within 1000 ms',
      });
      expect(await firstAttempt(ids[1])).toMatchObject({
        lastStatusCode: 302,
        lastError: expect.stringMatching(/^redirect to .*\/redirected not followed$/),
      });
      expect(receiver.for('/redirected')).toHaveLength(0);
      receiver.release();
    });

    it('the retention pruner deletes finished deliveries older than WEBHOOK_DELIVERY_RETENTION_SECONDS, never a pending one', async () => {
      const [{ id: endpointId }] = await failing.dataSource.query<{ id: string }[]>(
        `INSERT INTO webhook_endpoints (url, events, secret_ciphertext, status)
         VALUES ('https://example.com/pruned', '{order.created}', 'sealed', 'disabled') RETURNING id`,
      );
      const insert = (status: string, hoursAgo: number) =>
        failing.dataSource
          .query<{ id: string }[]>(
            `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, message_id, body, max_attempts, status,
               created_at, completed_at)
             VALUES ($1, gen_random_uuid(), 'order.created', 'msg', '{}', 3, $2, now() - make_interval(hours => $3),
               CASE WHEN $2 = 'pending' THEN NULL ELSE now() - make_interval(hours => $3) END) RETURNING id`,
            [endpointId, status, hoursAgo],
          )
          .then((rows) => rows[0].id);
      const retention = failing.config.retention.webhookDeliverySeconds / 3600;
      const old = [await insert('succeeded', retention + 1), await insert('failed', retention + 1)];
      const kept = [await insert('succeeded', retention - 1), await insert('pending', retention + 1)];
      const rule = failing
        .get(RetentionRegistry)
        .all()
        .find((r) => r.table === 'webhook_deliveries');
      expect(await rule!.pruneBatch(1000)).toBeGreaterThanOrEqual(2);
      const left = await failing.dataSource.query<{ id: string }[]>(
        'SELECT id FROM webhook_deliveries WHERE endpoint_id = $1',
        [endpointId],
      );
      expect(left.map((r) => r.id).sort()).toEqual([...kept].sort());
      expect(left.map((r) => r.id)).not.toEqual(expect.arrayContaining(old));
    });
  });
});
