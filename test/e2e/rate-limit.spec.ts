import { randomUUID } from 'node:crypto';
import { createUser, createUserWithToken } from '../factories/user.factory';
import { startTestApp, TestApp } from '../support/test-app';

// The test environment turns the limit off (RATE_LIMIT_PER_MINUTE=0); these apps turn it on.
const LIMIT = 3;

function randomIp(): string {
  const bytes = randomUUID().replace(/-/g, '').slice(0, 6);
  return `172.${(parseInt(bytes.slice(0, 2), 16) % 16) + 16}.${parseInt(bytes.slice(2, 4), 16)}.${parseInt(bytes.slice(4, 6), 16)}`;
}

describe('Global rate limit', () => {
  describe('behind a trusted proxy', () => {
    let sut: TestApp;

    beforeAll(async () => {
      sut = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: 'true' });
    });
    afterAll(() => sut.close());

    it('answers 429 with Retry-After and a problem once an anonymous client IP exceeds the budget', async () => {
      const ip = randomIp();
      for (let i = 0; i < LIMIT; i++) {
        const ok = await sut.http().get('/api/v1/health/live').set('x-forwarded-for', ip).expect(200);
        expect(ok.headers['ratelimit-limit']).toBe(String(LIMIT));
        expect(ok.headers['ratelimit-remaining']).toBe(String(LIMIT - i - 1));
      }
      const res = await sut.http().get('/api/v1/health/live').set('x-forwarded-for', ip).expect(429);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Another client is not affected.
      await sut.http().get('/api/v1/health/live').set('x-forwarded-for', randomIp()).expect(200);
    });

    it('counts per user when authenticated, whatever the IP', async () => {
      const ip = randomIp();
      const first = await createUserWithToken(sut);
      const second = await createUserWithToken(sut);
      const profile = (token: string, from = randomIp()) =>
        sut
          .http()
          .get('/api/v1/users/profile')
          .set('x-forwarded-for', from)
          .set('authorization', `Bearer ${token}`);

      for (let i = 0; i < LIMIT; i++) {
        await profile(first.token).expect(200);
      }
      await profile(first.token).expect(429);
      await profile(second.token, ip).expect(200);
      await sut.http().get('/api/v1/health/live').set('x-forwarded-for', ip).expect(200);
    });

    it('also counts requests with an invalid token (against the IP)', async () => {
      const ip = randomIp();
      for (let i = 0; i < LIMIT; i++) {
        await sut
          .http()
          .get('/api/v1/users/profile')
          .set('x-forwarded-for', ip)
          .set('authorization', 'Bearer junk')
          .expect(401);
      }
      await sut
        .http()
        .get('/api/v1/users/profile')
        .set('x-forwarded-for', ip)
        .set('authorization', 'Bearer junk')
        .expect(429);
    });
  });

  describe('without TRUST_PROXY', () => {
    let sut: TestApp;

    beforeAll(async () => {
      sut = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: 'false' });
    });
    afterAll(() => sut.close());

    it('ignores X-Forwarded-For, so a client cannot dodge the limit by forging it', async () => {
      const statuses: number[] = [];
      for (let i = 0; i <= LIMIT; i++) {
        statuses.push(
          (await sut.http().get('/api/v1/health/live').set('x-forwarded-for', randomIp())).status,
        );
      }
      expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    });
  });

  describe('with Redis unreachable', () => {
    let sut: TestApp;

    beforeAll(async () => {
      sut = await startTestApp({
        RATE_LIMIT_PER_MINUTE: '1',
        REDIS_URL: 'redis://127.0.0.1:1',
        STARTUP_CONNECT_TIMEOUT_MS: '200',
      });
    });
    afterAll(() => sut.close());

    it('fails open: requests keep being served, logins are not throttled', async () => {
      for (let i = 0; i < 3; i++) {
        await sut.http().get('/api/v1/health/live').expect(200);
      }
      const user = await createUser(sut.dataSource);
      await sut
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(200);
    });
  });
});
