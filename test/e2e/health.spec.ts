import { startTestApp, TestApp } from '../support/test-app';

describe('Health', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp();
  });
  afterAll(() => sut.close());

  it('GET /api/v1/health/live answers 200 without touching a dependency', async () => {
    const res = await sut.http().get('/api/v1/health/live').expect(200);
    expect(res.body.status).toBe('ok');
  });

  it('GET /api/v1/health/ready reports PostgreSQL and Redis up', async () => {
    const res = await sut.http().get('/api/v1/health/ready').expect(200);
    expect(res.body.details).toMatchObject({ database: { status: 'up' }, redis: { status: 'up' } });
  });

  it('GET /api/v1/health/detailed is for admins only', async () => {
    await sut.http().get('/api/v1/health/detailed').expect(401);
    const customer = await sut.tokenFor({
      id: '00000000-0000-4000-8000-000000000001',
      email: 'c@example.com',
      role: 'customer',
    });
    await sut.http().get('/api/v1/health/detailed').set('authorization', `Bearer ${customer}`).expect(403);
    const admin = await sut.tokenFor({
      id: '00000000-0000-4000-8000-000000000002',
      email: 'a@example.com',
      role: 'admin',
    });
    const res = await sut
      .http()
      .get('/api/v1/health/detailed')
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(Object.keys(res.body.details)).toEqual(
      expect.arrayContaining(['database', 'redis', 'memory', 'disk']),
    );
    expect(res.body.details.database.pool).toBeDefined();
  });
});

describe('Health with Redis unreachable', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', STARTUP_CONNECT_TIMEOUT_MS: '200' });
  });
  afterAll(() => sut.close());

  it('readiness turns 503 quickly while liveness stays 200', async () => {
    const res = await sut.http().get('/api/v1/health/ready').expect(503);
    expect(res.body.status).toBe('error');
    expect(res.body.details.redis.status).toBe('down');
    expect(res.body.details.database.status).toBe('up');
    await sut.http().get('/api/v1/health/live').expect(200);
  });
});

describe('Health with thresholds from the configuration', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp({
      HEALTH_HEAP_LIMIT_MB: '1',
      HEALTH_RSS_LIMIT_MB: '1048576',
      HEALTH_DISK_MIN_FREE_RATIO: '1',
    });
  });
  afterAll(() => sut.close());

  it('/health/detailed reports memory and disk over their limits as degraded, still up', async () => {
    const admin = await sut.tokenFor({
      id: '00000000-0000-4000-8000-000000000003',
      email: 'a3@example.com',
      role: 'admin',
    });
    const res = await sut
      .http()
      .get('/api/v1/health/detailed')
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(res.body.details.memory).toMatchObject({
      status: 'up',
      degraded: true,
      heapLimitBytes: 1024 * 1024,
      rssLimitBytes: 1024 * 1024 * 1024 * 1024,
    });
    expect(res.body.details.disk).toMatchObject({ status: 'up', degraded: true });
  });
});
