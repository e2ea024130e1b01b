import { randomUUID } from 'node:crypto';
import { createRootLogger } from '../../src/platform/logging/logger';
import { HttpEdgeTestModule } from '../support/http-edge-test.module';
import { LogCapture, LogLine } from '../support/log-capture';
import { startTestApp, TestApp } from '../support/test-app';

const PROBLEM_JSON = /^application\/problem\+json/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('HTTP edge', () => {
  let sut: TestApp;
  const logs = new LogCapture();

  beforeAll(async () => {
    const logger = createRootLogger({ env: 'test', log: { level: 'info' }, role: 'api' }, logs);
    sut = await startTestApp(
      { BODY_LIMIT_BYTES: '1024', BODY_MAX_DEPTH: '4', TRUST_PROXY: 'true' },
      [HttpEdgeTestModule],
      { logger },
    );
  });
  afterAll(() => sut.close());

  const linesOf = (correlationId: string): LogLine[] =>
    logs.lines.filter((line) => line.correlationId === correlationId);

  describe('correlation id', () => {
    it('echoes x-correlation-id on the response', async () => {
      const res = await sut.http().get('/api/v1/health/live').set('x-correlation-id', 'edge-given-1');
      expect(res.headers['x-correlation-id']).toBe('edge-given-1');
    });

    it('falls back to x-request-id', async () => {
      const res = await sut.http().get('/api/v1/health/live').set('x-request-id', 'edge-request-1');
      expect(res.headers['x-correlation-id']).toBe('edge-request-1');
    });

    it('makes one up when none is given or the given one is unsafe to log', async () => {
      const none = await sut.http().get('/api/v1/health/live');
      expect(none.headers['x-correlation-id']).toMatch(UUID);
      const unsafe = await sut.http().get('/api/v1/health/live').set('x-correlation-id', 'a b"c');
      expect(unsafe.headers['x-correlation-id']).toMatch(UUID);
    });

    it('puts the request correlation id on every log line of that request, even with requests overlapping', async () => {
      const journeys = Array.from({ length: 8 }, (_, i) => ({
        marker: `m${i}-${randomUUID().slice(0, 8)}`,
        correlationId: `journey-${i}-${randomUUID()}`,
      }));

      const responses = await Promise.all(
        journeys.map(({ marker, correlationId }) =>
          sut.http().get(`/api/v1/test-edge/journey/${marker}`).set('x-correlation-id', correlationId),
        ),
      );

      responses.forEach((res, i) => {
        expect(res.status).toBe(200);
        expect(res.body.correlationId).toBe(journeys[i].correlationId);
      });
      for (const { marker, correlationId } of journeys) {
        const ownLines = logs.lines.filter(
          (line) => line.marker === marker || line.url === `/api/v1/test-edge/journey/${marker}`,
        );
        expect(ownLines.map((line) => line.msg).sort()).toEqual([
          'journey finished',
          'journey started',
          'request completed',
        ]);
        expect(ownLines.every((line) => line.correlationId === correlationId)).toBe(true);
        // And nothing of another request leaked into this one's context.
        expect(linesOf(correlationId)).toHaveLength(3);
      }
    });
  });

  describe('security headers', () => {
    it('sends HSTS and upgrade-insecure-requests when a trusted proxy says the request came over https', async () => {
      for (const res of [
        await sut.http().get('/api/v1/health/live').set('x-forwarded-proto', 'https').expect(200),
        await sut.http().get('/api/v1/no-such-route').set('x-forwarded-proto', 'https').expect(404),
      ]) {
        expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
        expect(res.headers['content-security-policy']).toMatch(
          /default-src 'self'.*;upgrade-insecure-requests$/,
        );
      }
      const plain = await sut.http().get('/api/docs').set('x-forwarded-proto', 'http').expect(200);
      expect(plain.headers['strict-transport-security']).toBeUndefined();
      expect(plain.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
    });
  });

  describe('problem details', () => {
    it('answers an unknown route with 404', async () => {
      const res = await sut.http().get('/api/v1/no-such-route').set('x-correlation-id', 'edge-404');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.headers['x-correlation-id']).toBe('edge-404');
      expect(res.body).toMatchObject({
        type: expect.any(String),
        title: 'Not Found',
        status: 404,
        detail: expect.any(String),
        instance: '/api/v1/no-such-route',
        correlationId: 'edge-404',
      });
    });

    it('answers what the router refuses (bad percent-encoding, an overlong path parameter) with a problem too', async () => {
      // Found by fuzzing: Fastify answered these itself, as plain JSON echoing the whole URL.
      const badEncoding = await sut.http().get('/api/v1/products/%E0%A4%A');
      expect(badEncoding.status).toBe(400);
      expect(badEncoding.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(badEncoding.body).toMatchObject({
        status: 400,
        title: 'Bad Request',
        detail: expect.stringMatching(/URL/),
      });

      const overlong = await sut.http().get(`/api/v1/products/${'x'.repeat(5000)}`);
      expect(overlong.status).toBe(414);
      expect(overlong.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(overlong.body).toMatchObject({
        status: 414,
        detail: 'A path parameter is longer than allowed.',
      });
      expect(overlong.text.length).toBeLessThan(1000);
    });

    it('answers malformed JSON with 400', async () => {
      const res = await sut
        .http()
        .post('/api/v1/test-edge/echo')
        .set('content-type', 'application/json')
        .set('x-request-id', 'edge-400-json')
        .send('{"name": "broken",');
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.headers['x-correlation-id']).toBe('edge-400-json');
      expect(res.body).toMatchObject({
        status: 400,
        detail: expect.stringMatching(/not valid JSON/i),
        correlationId: 'edge-400-json',
      });
    });

    it('answers invalid fields with 400 and one entry per broken rule in errors[]', async () => {
      const res = await sut
        .http()
        .post('/api/v1/test-edge/echo')
        .set('x-correlation-id', 'edge-400-fields')
        .send({ name: '', quantity: 0 });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.headers['x-correlation-id']).toBe('edge-400-fields');
      expect(res.body.correlationId).toBe('edge-400-fields');
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          { field: 'name', message: expect.any(String) },
          { field: 'quantity', message: expect.any(String) },
        ]),
      );
    });

    it('refuses an unknown field with 400 instead of ignoring it', async () => {
      const res = await sut
        .http()
        .post('/api/v1/test-edge/echo')
        .send({ name: 'widget', quantity: 2, isAdmin: true });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'isAdmin', message: expect.stringMatching(/isAdmin/) }]);
    });

    it('accepts a valid body', async () => {
      const res = await sut.http().post('/api/v1/test-edge/echo').send({ name: 'widget', quantity: 2 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ name: 'widget', quantity: 2 });
    });

    it('answers a body over BODY_LIMIT_BYTES with 413', async () => {
      const res = await sut
        .http()
        .post('/api/v1/test-edge/echo')
        .set('x-correlation-id', 'edge-413')
        .send({ name: 'x'.repeat(2048), quantity: 1 });
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.headers['x-correlation-id']).toBe('edge-413');
      expect(res.body).toMatchObject({ status: 413, correlationId: 'edge-413' });
    });

    describe('JSON nesting depth (BODY_MAX_DEPTH=4 here)', () => {
      const post = (raw: string, correlationId: string) =>
        sut
          .http()
          .post('/api/v1/test-edge/echo')
          .set('content-type', 'application/json')
          .set('x-correlation-id', correlationId)
          .send(raw);

      it('answers a body nested deeper than the limit with a 400 problem, before validation', async () => {
        // Found by an attacker: 5,000 levels overflowed the stack in validation, a 500 after ~1.7 s.
        for (const [raw, id] of [
          ['['.repeat(1000), 'edge-deep-open'],
          [`${'['.repeat(5)}1${']'.repeat(5)}`, 'edge-deep-array'],
          ['{"name":"w","quantity":1,"x":{"a":{"b":{"c":{}}}}}', 'edge-deep-object'],
        ]) {
          const res = await post(raw, id);
          expect(res.status).toBe(400);
          expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
          expect(res.body).toMatchObject({
            status: 400,
            code: 'JSON_TOO_DEEP',
            detail: 'The JSON body nests arrays or objects deeper than 4 levels.',
            correlationId: id,
          });
        }
      });

      it('lets a body at the limit through to validation', async () => {
        const res = await post('{"name":"w","quantity":1,"x":{"a":{"b":{}}}}', 'edge-deep-at-limit');
        expect(res.status).toBe(400);
        expect(res.body.errors).toEqual([{ field: 'x', message: expect.stringMatching(/x/) }]);
        // Brackets inside strings are text, not nesting.
        const text = await post(JSON.stringify({ name: '[[[[[[{{{{{', quantity: 1 }), 'edge-deep-text');
        expect(text.status).toBe(200);
      });
    });

    it('answers a JSON body sent as text or as a form with 415, not a list of missing fields', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        const res = await sut
          .http()
          .post('/api/v1/test-edge/echo')
          .set('content-type', type)
          .set('x-correlation-id', 'edge-415')
          .send(JSON.stringify({ name: 'widget', quantity: 2 }));
        expect(res.status).toBe(415);
        expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(res.body).toMatchObject({
          status: 415,
          detail: 'Unsupported content type; send application/json.',
          correlationId: 'edge-415',
        });
        expect(res.body.errors).toBeUndefined();
      }
    });

    it('answers an unexpected error with a bare 500 and logs the detail under the correlation id', async () => {
      const res = await sut.http().get('/api/v1/test-edge/boom').set('x-correlation-id', 'edge-500');
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.headers['x-correlation-id']).toBe('edge-500');
      expect(res.body).toEqual({
        type: expect.any(String),
        title: 'Internal Server Error',
        status: 500,
        detail: 'An unexpected error occurred.',
        instance: '/api/v1/test-edge/boom',
        correlationId: 'edge-500',
      });
      expect(res.text).not.toMatch(/SELECT|vault|stack|\.ts:\d+/);
      const errorLine = linesOf('edge-500').find((line) => line.msg === 'request failed');
      expect(errorLine).toMatchObject({ level: 50, err: { message: expect.stringMatching(/vault/) } });
    });
  });
});
