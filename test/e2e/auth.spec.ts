import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { JWT_AUDIENCE, JWT_ISSUER } from '../../src/modules/auth/token.service';
import { createUser } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { startTestApp, TestApp } from '../support/test-app';

function uniqueEmail(): string {
  return `auth-${randomUUID()}@example.com`;
}

// The app trusts X-Forwarded-For here, so each test throttles its own fake client IP.
let ipCounter = 0;
function uniqueIp(): string {
  ipCounter += 1;
  return `10.${process.pid % 250}.${Math.floor(ipCounter / 250)}.${ipCounter % 250}`;
}

function expectNoPasswordHash(body: unknown): void {
  expect(JSON.stringify(body)).not.toMatch(/password|argon2/i);
}

describe('Auth', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp({ TRUST_PROXY: 'true', LOGIN_THROTTLE_WINDOW_SECONDS: '2' });
  });
  afterAll(() => sut.close());

  function login(email: string, password: string, ip = uniqueIp()) {
    return sut.http().post('/api/v1/auth/login').set('x-forwarded-for', ip).send({ email, password });
  }

  describe('POST /auth/register', () => {
    it('creates a customer, answers the session shape and writes UserRegistered to the outbox', async () => {
      const email = uniqueEmail();
      const res = await sut
        .http()
        .post('/api/v1/auth/register')
        .send({
          email: `  ${email.toUpperCase()} `,
          password: 'Secret123',
          firstName: 'Ada',
          lastName: 'Lovelace',
        })
        .expect(201);

      expect(res.body).toEqual({
        user: expect.objectContaining({ email, role: 'customer', isActive: true, firstName: 'Ada' }),
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
      });
      expectNoPasswordHash(res.body);
      const [row] = await sut.dataSource.query(
        `SELECT u.email, u.password_hash, e.payload FROM users u
         JOIN outbox_events e ON e.aggregate_id = u.id AND e.event_type = 'UserRegistered' WHERE u.id = $1`,
        [res.body.user.id],
      );
      expect(row.email).toBe(email);
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      expect(row.payload).toEqual({ userId: res.body.user.id, email, firstName: 'Ada', language: 'en' });
      await sut
        .http()
        .get('/api/v1/users/profile')
        .set('authorization', `Bearer ${res.body.accessToken}`)
        .expect(200);
    });

    it('refuses an email taken in another case with 409 EMAIL_TAKEN', async () => {
      const { email } = await createUser(sut.dataSource);
      const res = await sut
        .http()
        .post('/api/v1/auth/register')
        .send({ email: email.toUpperCase(), password: 'Secret123', firstName: 'A', lastName: 'B' })
        .expect(409);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('EMAIL_TAKEN');
    });

    it.each([
      ['too short', 'abc123'],
      ['no digit', 'abcdefghij'],
      ['no letter', '1234567890'],
      ['too long', `a1${'x'.repeat(127)}`],
    ])('refuses a password that is %s', async (_case, password) => {
      const res = await sut
        .http()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail(), password, firstName: 'A', lastName: 'B' })
        .expect(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'password' })]),
      );
    });

    it('refuses to let a registrant choose a role (mass assignment)', async () => {
      const res = await sut
        .http()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail(), password: 'Secret123', firstName: 'A', lastName: 'B', role: 'admin' })
        .expect(400);
      expect(res.body.errors).toEqual([{ field: 'role', message: 'property role should not exist' }]);
    });
  });

  describe('POST /auth/login', () => {
    it('logs in with any case of the email and records the login', async () => {
      const user = await createUser(sut.dataSource);
      const res = await login(user.email.toUpperCase(), user.password).expect(200);
      expect(res.body.user).toMatchObject({ id: user.id, email: user.email });
      expect(res.body.user.lastLoginAt).not.toBeNull();
      expectNoPasswordHash(res.body);
    });

    it('answers a body nested 500,000 deep with a 400 problem, before validation', async () => {
      // Found by an attacker: 1 MB of `[` overflowed the stack in validation, a 500 after ~1.7 s.
      const res = await sut
        .http()
        .post('/api/v1/auth/login')
        .set('content-type', 'application/json')
        .send('['.repeat(500_000));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({
        code: 'JSON_TOO_DEEP',
        detail: 'The JSON body nests arrays or objects deeper than 32 levels.',
      });
    });

    it('answers the same 401 for a wrong password and an unknown email', async () => {
      const user = await createUser(sut.dataSource);
      const wrong = await login(user.email, 'Wrong1234').expect(401);
      const unknown = await login(uniqueEmail(), 'Wrong1234').expect(401);
      expect(wrong.body.detail).toBe(unknown.body.detail);
      expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
      expect(unknown.body.code).toBe('INVALID_CREDENTIALS');
    });

    it('refuses a soft-deleted user and a deactivated user with the same 401', async () => {
      const deleted = await createUser(sut.dataSource, { isActive: false, deletedAt: new Date() });
      const inactive = await createUser(sut.dataSource, { isActive: false });
      await login(deleted.email, deleted.password).expect(401);
      await login(inactive.email, inactive.password).expect(401);
    });

    it('throttles after 5 failures for one email with 429 and Retry-After, then recovers after the window', async () => {
      const user = await createUser(sut.dataSource);
      for (let i = 0; i < 5; i++) {
        await login(user.email, 'Wrong1234').expect(401);
      }
      const throttled = await login(user.email, user.password).expect(429);
      expect(throttled.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(throttled.body).toMatchObject({ status: 429, code: 'LOGIN_THROTTLED' });
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(2);

      await eventually(async () => (await login(user.email, user.password)).status === 200, {
        timeoutMs: 5000,
        intervalMs: 100,
        what: 'the login throttle to lift',
      });
    });

    it('throttles after 20 failures from one IP across different emails', async () => {
      const ip = uniqueIp();
      // The user first, and the 20 failures at once: one after another they can outlast the 2 s window
      // on a loaded machine (each runs a password hash), and the throttle rightly forgets the first ones.
      const user = await createUser(sut.dataSource);
      await Promise.all(Array.from({ length: 20 }, () => login(uniqueEmail(), 'Wrong1234', ip).expect(401)));
      const res = await login(user.email, user.password, ip).expect(429);
      expect(res.headers['retry-after']).toBeDefined();
      await login(user.email, user.password, uniqueIp()).expect(200);
    });

    it('does not count successful logins against the limit', async () => {
      const user = await createUser(sut.dataSource);
      const ip = uniqueIp();
      for (let i = 0; i < 7; i++) {
        await login(user.email, user.password, ip).expect(200);
      }
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates: a new pair comes back and the old refresh token is spent', async () => {
      const user = await createUser(sut.dataSource);
      const first = (await login(user.email, user.password).expect(200)).body;
      const second = await sut
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: first.refreshToken })
        .expect(200);
      expect(second.body.refreshToken).not.toBe(first.refreshToken);
      expect(second.body.user.id).toBe(user.id);
      expectNoPasswordHash(second.body);

      const [stored] = await sut.dataSource.query(
        `SELECT count(*)::int AS n, count(DISTINCT family_id)::int AS families, bool_and(token_hash ~ '^[0-9a-f]{64}$') AS hashed
         FROM refresh_tokens WHERE user_id = $1`,
        [user.id],
      );
      expect(stored).toEqual({ n: 2, families: 1, hashed: true });
    });

    it('re-use of a spent token answers 401 and revokes the whole family', async () => {
      const user = await createUser(sut.dataSource);
      const first = (await login(user.email, user.password).expect(200)).body;
      const second = (
        await sut.http().post('/api/v1/auth/refresh').send({ refreshToken: first.refreshToken }).expect(200)
      ).body;

      const reuse = await sut
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: first.refreshToken })
        .expect(401);
      expect(reuse.body.code).toBe('INVALID_REFRESH_TOKEN');
      // The legitimate holder's newest token died with the family.
      await sut.http().post('/api/v1/auth/refresh').send({ refreshToken: second.refreshToken }).expect(401);
      const [{ live }] = await sut.dataSource.query(
        `SELECT count(*)::int AS live FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`,
        [user.id],
      );
      expect(live).toBe(0);
    });

    it('lets at most one of 20 concurrent refreshes of one token succeed', async () => {
      const user = await createUser(sut.dataSource);
      const { refreshToken } = (await login(user.email, user.password).expect(200)).body;
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => sut.http().post('/api/v1/auth/refresh').send({ refreshToken })),
      );
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(1);
      expect(statuses.every((s) => s === 200 || s === 401)).toBe(true);
      const [{ spent }] = await sut.dataSource.query(
        `SELECT count(*)::int AS spent FROM refresh_tokens WHERE user_id = $1 AND used_at IS NOT NULL`,
        [user.id],
      );
      expect(spent).toBe(1);
      // The losers look like a replay of a spent token, so the family (the winner's new token too) is revoked.
      const [{ live }] = await sut.dataSource.query(
        `SELECT count(*)::int AS live FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`,
        [user.id],
      );
      expect(live).toBe(0);
    });

    it('refuses an unknown token and the token of a soft-deleted user', async () => {
      await sut.http().post('/api/v1/auth/refresh').send({ refreshToken: 'not-a-real-token' }).expect(401);
      const user = await createUser(sut.dataSource);
      const { refreshToken } = (await login(user.email, user.password).expect(200)).body;
      await sut.dataSource.query(`UPDATE users SET deleted_at = now(), is_active = false WHERE id = $1`, [
        user.id,
      ]);
      await sut.http().post('/api/v1/auth/refresh').send({ refreshToken }).expect(401);
    });
  });

  describe('POST /auth/logout', () => {
    it('revokes the family (204) so the refresh token no longer works', async () => {
      const user = await createUser(sut.dataSource);
      const session = (await login(user.email, user.password).expect(200)).body;
      await sut.http().post('/api/v1/auth/logout').send({ refreshToken: session.refreshToken }).expect(401);
      await sut
        .http()
        .post('/api/v1/auth/logout')
        .set('authorization', `Bearer ${session.accessToken}`)
        .send({ refreshToken: session.refreshToken })
        .expect(204);
      await sut.http().post('/api/v1/auth/refresh').send({ refreshToken: session.refreshToken }).expect(401);
    });

    it('cannot end another user’s session', async () => {
      const victim = await createUser(sut.dataSource);
      const attacker = await createUser(sut.dataSource);
      const victimSession = (await login(victim.email, victim.password).expect(200)).body;
      await sut
        .http()
        .post('/api/v1/auth/logout')
        .set('authorization', `Bearer ${await sut.tokenFor(attacker)}`)
        .send({ refreshToken: victimSession.refreshToken })
        .expect(204);
      await sut
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: victimSession.refreshToken })
        .expect(200);
    });
  });

  describe('access tokens', () => {
    const profile = (token: string) =>
      sut.http().get('/api/v1/users/profile').set('authorization', `Bearer ${token}`);

    it('carries sub, email, role, iat, exp and jti', async () => {
      const user = await createUser(sut.dataSource);
      const { accessToken } = (await login(user.email, user.password).expect(200)).body;
      const [header, payload] = accessToken
        .split('.')
        .slice(0, 2)
        .map((part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()));
      expect(header.alg).toBe('HS256');
      expect(payload).toMatchObject({ sub: user.id, email: user.email, role: 'customer' });
      expect(payload.exp - payload.iat).toBe(900);
      expect(payload.jti).toEqual(expect.any(String));
    });

    it('refuses an expired token with 401', async () => {
      const user = await createUser(sut.dataSource);
      const now = Math.floor(Date.now() / 1000);
      const expired = new JwtService({ secret: sut.config.auth.jwtSecret }).sign(
        {
          sub: user.id,
          email: user.email,
          role: 'customer',
          jti: randomUUID(),
          iat: now - 1000,
          exp: now - 100,
        },
        { algorithm: 'HS256', issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
      );
      const res = await profile(expired).expect(401);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    });

    it('refuses a token whose payload was changed (role raised to admin)', async () => {
      const user = await createUser(sut.dataSource);
      const [header, payload, signature] = (await sut.tokenFor(user)).split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
      await profile(`${header}.${payload}.${signature}`).expect(200);
      await sut
        .http()
        .get('/api/v1/users')
        .set('authorization', `Bearer ${header}.${forged}.${signature}`)
        .expect(401);
    });

    it('refuses an unsigned token (alg: none)', async () => {
      const user = await createUser(sut.dataSource);
      const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({
        sub: user.id,
        email: user.email,
        role: 'admin',
        jti: randomUUID(),
        iat: now,
        exp: now + 600,
        iss: JWT_ISSUER,
        aud: JWT_AUDIENCE,
      })}.`;
      await profile(unsigned).expect(401);
    });

    it('refuses a token signed with another secret', async () => {
      const user = await createUser(sut.dataSource);
      const foreign = new JwtService({ secret: 'another-secret-another-secret-0123456789' }).sign(
        { sub: user.id, email: user.email, role: 'customer', jti: randomUUID() },
        { algorithm: 'HS256', issuer: JWT_ISSUER, audience: JWT_AUDIENCE, expiresIn: 600 },
      );
      await profile(foreign).expect(401);
    });
  });
});
