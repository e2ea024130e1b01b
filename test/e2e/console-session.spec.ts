import { createUser, TestUser } from '../factories/user.factory';
import { startTestApp, TestApp } from '../support/test-app';

const BASE = '/api/v1/auth/console';
const MARKER = { 'x-aop-console': '1' };

/** The operator console's session: refresh token in an HttpOnly cookie, access token in the body only. */
describe('Console session', () => {
  let sut: TestApp;
  let admin: TestUser;
  let customer: TestUser;

  beforeAll(async () => {
    sut = await startTestApp();
    admin = await createUser(sut.dataSource, { role: 'admin' });
    customer = await createUser(sut.dataSource);
  });
  afterAll(() => sut.close());

  const cookieOf = (res: { headers: Record<string, unknown> }): string => {
    const header = res.headers['set-cookie'];
    return String(Array.isArray(header) ? header[0] : header);
  };
  const valueOf = (cookie: string): string => cookie.split(';')[0];

  async function openSession(): Promise<{ accessToken: string; cookie: string }> {
    const res = await sut
      .http()
      .post(`${BASE}/session`)
      .set(MARKER)
      .send({ email: admin.email, password: admin.password })
      .expect(200);
    return { accessToken: res.body.accessToken as string, cookie: cookieOf(res) };
  }

  it('logs an admin in: access token in the body, refresh token only in an HttpOnly SameSite=Strict cookie', async () => {
    const res = await sut
      .http()
      .post(`${BASE}/session`)
      .set(MARKER)
      .send({ email: admin.email, password: admin.password })
      .expect(200);
    expect(res.body).toEqual({
      user: expect.objectContaining({ email: admin.email, role: 'admin' }),
      accessToken: expect.any(String),
      expiresIn: expect.any(Number),
    });
    expect(res.headers['cache-control']).toBe('no-store');
    const cookie = cookieOf(res);
    expect(cookie).toMatch(
      /^aop_console_refresh=[^;]+; Path=\/api\/v1\/auth\/console; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
    );
    await sut
      .http()
      .get('/api/v1/orders/counts')
      .set('authorization', `Bearer ${res.body.accessToken}`)
      .expect(200);
  });

  it('refuses a customer with 403 and leaves no session behind', async () => {
    const res = await sut
      .http()
      .post(`${BASE}/session`)
      .set(MARKER)
      .send({ email: customer.email, password: customer.password })
      .expect(403);
    expect(res.body.detail).toBe('The console is for admins.');
    expect(res.headers['set-cookie']).toBeUndefined();
    const [{ live }] = await sut.dataSource.query<{ live: number }[]>(
      `SELECT count(*)::int AS live FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`,
      [customer.id],
    );
    expect(live).toBe(0);
  });

  it('refreshes from the cookie, rotating it; the spent cookie is refused and ends the session family', async () => {
    const { cookie } = await openSession();
    const res = await sut
      .http()
      .post(`${BASE}/refresh`)
      .set(MARKER)
      .set('cookie', valueOf(cookie))
      .expect(200);
    expect(res.body.accessToken).toEqual(expect.any(String));
    const rotated = cookieOf(res);
    expect(valueOf(rotated)).not.toBe(valueOf(cookie));

    const reused = await sut
      .http()
      .post(`${BASE}/refresh`)
      .set(MARKER)
      .set('cookie', valueOf(cookie))
      .expect(401);
    expect(cookieOf(reused)).toContain('Max-Age=0');
    // Reuse revoked the family: the newer cookie is dead too.
    await sut.http().post(`${BASE}/refresh`).set(MARKER).set('cookie', valueOf(rotated)).expect(401);
  });

  it('needs its header on every call, so a cross-site form cannot use the cookie', async () => {
    const { cookie } = await openSession();
    await sut.http().post(`${BASE}/refresh`).set('cookie', valueOf(cookie)).expect(403);
    await sut.http().delete(`${BASE}/session`).set('cookie', valueOf(cookie)).expect(403);
    await sut
      .http()
      .post(`${BASE}/session`)
      .send({ email: admin.email, password: admin.password })
      .expect(403);
    await sut.http().post(`${BASE}/refresh`).set(MARKER).expect(401);
  });

  it('logs out: the cookie is cleared and its refresh token revoked', async () => {
    const { cookie } = await openSession();
    const res = await sut
      .http()
      .delete(`${BASE}/session`)
      .set(MARKER)
      .set('cookie', valueOf(cookie))
      .expect(204);
    expect(cookieOf(res)).toContain('Max-Age=0');
    await sut.http().post(`${BASE}/refresh`).set(MARKER).set('cookie', valueOf(cookie)).expect(401);
  });

  it('serves the console pages under their own strict Content-Security-Policy, the API keeps its own', async () => {
    const page = await sut.http().get('/console/').expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("'unsafe-inline'");
    const script = await sut.http().get('/console/js/main.js').expect(200);
    expect(script.headers['content-type']).toContain('javascript');
    await sut.http().get('/console').expect(301);
    const docs = await sut.http().get('/api/docs').redirects(1).expect(200);
    expect(String(docs.headers['content-security-policy'])).toContain("'unsafe-inline'");
  });
});
