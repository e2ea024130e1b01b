import { UserStandingRepository } from '../../src/modules/auth/user-standing.repository';
import { createUser, createUserWithToken, DEFAULT_PASSWORD } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { TcpProxy } from '../support/tcp-proxy';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Access tokens are checked against the user's standing (active, role, token version) on every API
 * process, from a cache: a deactivation, deletion, role change or "log out everywhere" made through one
 * process stops the user's tokens on another within seconds, without a database query per request.
 */
describe('Access-token revocation across API processes', () => {
  let database: { url: string; drop: () => Promise<void> };
  let one: TestApp;
  let two: TestApp;
  let admin: string;

  const call = (app: TestApp, method: 'get' | 'post' | 'put' | 'delete', path: string, token?: string) => {
    const req = app.http()[method](path);
    return token ? req.set('authorization', `Bearer ${token}`) : req;
  };
  const profileStatus = async (app: TestApp, token: string) =>
    (await call(app, 'get', '/api/v1/users/profile', token)).status;

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    // Same database and Redis prefix: two API instances of one installation.
    const env = { DATABASE_URL: database.url, QUEUE_PREFIX: isolatedQueuePrefix('revocation') };
    [one, two] = await Promise.all([startTestApp(env), startTestApp(env)]);
    admin = (await createUserWithToken(one, { role: 'admin' })).token;
  }, 120_000);
  afterAll(async () => {
    await Promise.all([one.close(), two.close()]);
    await database.drop();
  });

  it('asks the database once per user and cache period, not once per request', async () => {
    const { token } = await createUserWithToken(one);
    const reads = jest.spyOn(two.get(UserStandingRepository), 'find');
    for (let i = 0; i < 20; i++) {
      expect(await profileStatus(two, token)).toBe(200);
    }
    // The profile route reads the user itself; the standing is read once for twenty requests.
    expect(reads).toHaveBeenCalledTimes(1);
    reads.mockRestore();
  });

  it.each([
    ['deactivated', (id: string) => call(one, 'put', `/api/v1/users/${id}`, admin).send({ isActive: false })],
    ['deleted', (id: string) => call(one, 'delete', `/api/v1/users/${id}`, admin)],
  ])('a %s user is refused on the other process within seconds', async (_what, change) => {
    const { user, token } = await createUserWithToken(one);
    expect(await profileStatus(two, token)).toBe(200);

    expect((await change(user.id)).status).toBeLessThan(300);

    expect(await profileStatus(one, token)).toBe(401);
    await eventually(async () => (await profileStatus(two, token)) === 401, {
      timeoutMs: 5000,
      what: 'the other process to refuse the token',
    });
  });

  it('a demoted admin loses the admin routes and Bull Board (token and board session) on the other process within seconds', async () => {
    const { user, token } = await createUserWithToken(one, { role: 'admin' });
    await call(two, 'get', '/api/v1/users', token).expect(200);
    await call(two, 'get', '/admin/queues', token).expect(200);
    const opened = await call(one, 'post', '/api/v1/admin/queues/session', token).expect(204);
    const session = String(opened.headers['set-cookie']).split(';')[0];
    await two.http().get('/admin/queues').set('cookie', session).expect(200);

    await call(one, 'put', `/api/v1/users/${user.id}`, admin).send({ role: 'customer' }).expect(200);

    await eventually(async () => (await call(two, 'get', '/api/v1/users', token)).status === 401, {
      timeoutMs: 5000,
      what: 'the old admin token to be refused',
    });
    await call(two, 'get', '/admin/queues', token).expect(401);
    await two.http().get('/admin/queues').set('cookie', session).expect(401);
  });

  it('POST /auth/logout-all ends every session: access tokens on every process and refresh tokens', async () => {
    const user = await createUser(one.dataSource);
    const login = async () =>
      (
        await call(one, 'post', '/api/v1/auth/login')
          .send({ email: user.email, password: DEFAULT_PASSWORD })
          .expect(200)
      ).body as { accessToken: string; refreshToken: string };
    const [first, second] = [await login(), await login()];
    expect(await profileStatus(two, second.accessToken)).toBe(200);

    await call(one, 'post', '/api/v1/auth/logout-all', first.accessToken).expect(204);

    expect(await profileStatus(one, first.accessToken)).toBe(401);
    await eventually(async () => (await profileStatus(two, second.accessToken)) === 401, {
      timeoutMs: 5000,
      what: 'the other session to end on the other process',
    });
    await call(one, 'post', '/api/v1/auth/refresh').send({ refreshToken: second.refreshToken }).expect(401);
    await call(one, 'post', '/api/v1/auth/logout-all').expect(401);
    // A new login carries the new token version and works everywhere.
    const third = await login();
    expect(await profileStatus(two, third.accessToken)).toBe(200);
  });

  describe('while Redis cannot deliver revocations', () => {
    const proxy = new TcpProxy('127.0.0.1', 6379);
    let cut: TestApp;

    beforeAll(async () => {
      await proxy.start();
      cut = await startTestApp({
        DATABASE_URL: database.url,
        QUEUE_PREFIX: isolatedQueuePrefix('revocation-cut'),
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        AUTH_STANDING_CACHE_DEGRADED_MS: '500',
      });
    }, 60_000);
    afterAll(async () => {
      await cut.close();
      await proxy.stop();
    });

    it.each(['cut', 'black hole'])(
      'fails closed on admin routes (503) and keeps serving customers from fresh reads (%s)',
      async (outage) => {
        const { user, token } = await createUserWithToken(one);
        await call(cut, 'get', '/api/v1/users', admin).expect(200);

        if (outage === 'cut') {
          await proxy.stop();
        } else {
          proxy.blackHole();
        }
        try {
          await eventually(async () => (await call(cut, 'get', '/api/v1/users', admin)).status === 503, {
            what: 'admin routes to fail closed',
          });
          expect(await profileStatus(cut, token)).toBe(200);
          // No message can arrive, but the short degraded cache period still lets the change through.
          await one.dataSource.query(`UPDATE users SET is_active = false WHERE id = $1`, [user.id]);
          await eventually(async () => (await profileStatus(cut, token)) === 401, {
            what: 'the deactivation to be read again',
          });
        } finally {
          if (outage === 'cut') {
            await proxy.start();
          } else {
            proxy.heal();
          }
        }
        await eventually(async () => (await call(cut, 'get', '/api/v1/users', admin)).status === 200, {
          what: 'admin routes to come back with Redis',
        });
      },
    );
  });
});
