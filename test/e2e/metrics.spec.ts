import { randomUUID } from 'node:crypto';
import { HttpEdgeTestModule } from '../support/http-edge-test.module';
import { parsePrometheusText, Sample, sampleValue } from '../support/prometheus-text';
import { startTestApp, TestApp } from '../support/test-app';

const TOKEN = 'metrics-token-for-tests';

describe('Metrics', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp({ METRICS_TOKEN: TOKEN }, [HttpEdgeTestModule]);
  });
  afterAll(() => sut.close());

  async function scrape(): Promise<Sample[]> {
    const res = await sut.http().get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);
    return parsePrometheusText(res.text);
  }

  describe('METRICS_TOKEN', () => {
    it('refuses a scrape without the token, with another one or without the Bearer scheme, with 401', async () => {
      const without = await sut.http().get('/metrics');
      expect(without.status).toBe(401);
      expect(without.headers['content-type']).toMatch(/^application\/problem\+json/);
      await sut.http().get('/metrics').set('authorization', 'Bearer not-the-token').expect(401);
      await sut.http().get('/metrics').set('authorization', TOKEN).expect(401);
    });

    it('serves Prometheus text with the token', async () => {
      const res = await sut.http().get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.text).toMatch(/^# HELP /m);
    });
  });

  describe('HTTP', () => {
    it('times requests by method, route template and status, never by raw URL', async () => {
      const marker = randomUUID();
      await sut.http().get(`/api/v1/test-edge/journey/${marker}`).expect(200);
      await sut.http().get(`/api/v1/no-such-thing/${marker}`).expect(404);
      await sut.http().post('/api/v1/test-edge/echo').send({ name: 'a', quantity: 0 }).expect(400);

      const res = await sut.http().get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);
      const samples = parsePrometheusText(res.text);

      expect(res.text).not.toContain(marker);
      const count = (labels: Record<string, string>) =>
        sampleValue(samples, 'aop_http_request_duration_seconds_count', labels);
      expect(
        count({ method: 'GET', route: '/api/v1/test-edge/journey/:marker', status_code: '200' }),
      ).toBeGreaterThanOrEqual(1);
      expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
      expect(count({ method: 'POST', route: '/api/v1/test-edge/echo', status_code: '400' })).toBe(1);
      // The scrape being answered is in flight while it is collected.
      expect(sampleValue(samples, 'aop_http_requests_in_flight')).toBeGreaterThanOrEqual(1);
    });

    it('has buckets fine enough around the 50 ms target', async () => {
      const samples = await scrape();
      const bounds = samples
        .filter((s) => s.name === 'aop_http_request_duration_seconds_bucket' && s.labels.route === '/metrics')
        .map((s) => s.labels.le);
      expect(bounds).toEqual(expect.arrayContaining(['0.02', '0.03', '0.04', '0.05', '0.075', '0.1']));
    });
  });

  describe('runtime', () => {
    it('exposes process metrics, event-loop lag, the PostgreSQL pool and the Redis connection', async () => {
      await sut.dataSource.query('SELECT 1');
      const samples = await scrape();

      expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(sampleValue(samples, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
      expect(sampleValue(samples, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
      expect(sampleValue(samples, 'aop_db_pool_connections', { state: 'max' })).toBe(
        sut.config.database.poolSize,
      );
      expect(sampleValue(samples, 'aop_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(1);
      expect(sampleValue(samples, 'aop_db_pool_connections', { state: 'in_use' })).toBeGreaterThanOrEqual(0);
      expect(sampleValue(samples, 'aop_db_pool_waiting_requests')).toBe(0);
      expect(sampleValue(samples, 'aop_redis_connected')).toBe(1);
    });
  });

  describe('business catalogue', () => {
    it('defines the order-journey metrics for the features to increment', async () => {
      const res = await sut.http().get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);
      for (const [name, type] of [
        ['aop_orders_created_total', 'counter'],
        ['aop_orders_finished_total', 'counter'],
        ['aop_order_duration_seconds', 'histogram'],
        ['aop_saga_step_duration_seconds', 'histogram'],
        ['aop_saga_compensations_total', 'counter'],
        ['aop_idempotent_replays_total', 'counter'],
        ['aop_dead_letters', 'gauge'],
      ]) {
        expect(res.text).toContain(`# TYPE ${name} ${type}`);
      }
    });
  });
});

describe('Metrics without METRICS_TOKEN, Redis unreachable', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', STARTUP_CONNECT_TIMEOUT_MS: '200' });
  });
  afterAll(() => sut.close());

  it('serves /metrics to anyone and reports Redis as disconnected', async () => {
    const res = await sut.http().get('/metrics').expect(200);
    expect(sampleValue(parsePrometheusText(res.text), 'aop_redis_connected')).toBe(0);
  });
});
