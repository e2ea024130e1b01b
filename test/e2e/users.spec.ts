import { randomUUID } from 'node:crypto';
import { createUser, createUserWithToken } from '../factories/user.factory';
import { createIsolatedDatabase } from '../support/isolation';
import { startTestApp, TestApp } from '../support/test-app';

function expectNoPasswordHash(body: unknown): void {
  expect(JSON.stringify(body)).not.toMatch(/password|argon2/i);
}

describe('Users', () => {
  let sut: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    sut = await startTestApp();
    adminToken = (await createUserWithToken(sut, { role: 'admin' })).token;
  });
  afterAll(() => sut.close());

  const as = (token: string) => ({
    get: (path: string) => sut.http().get(`/api/v1${path}`).set('authorization', `Bearer ${token}`),
    put: (path: string, body: object) =>
      sut.http().put(`/api/v1${path}`).set('authorization', `Bearer ${token}`).send(body),
    post: (path: string, body: object) =>
      sut.http().post(`/api/v1${path}`).set('authorization', `Bearer ${token}`).send(body),
    delete: (path: string) => sut.http().delete(`/api/v1${path}`).set('authorization', `Bearer ${token}`),
  });

  describe('GET/PUT /users/profile', () => {
    it('answers 401 without a token', async () => {
      const res = await sut.http().get('/api/v1/users/profile').expect(401);
      expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    });

    it('shows and updates the caller’s own names, phone and language', async () => {
      const { user, token } = await createUserWithToken(sut);
      const shown = await as(token).get('/users/profile').expect(200);
      expect(shown.body).toMatchObject({ id: user.id, email: user.email, role: 'customer', phone: null });
      expectNoPasswordHash(shown.body);

      const updated = await as(token)
        .put('/users/profile', {
          firstName: ' Grace ',
          lastName: 'Hopper',
          phone: '+34600111222',
          preferredLanguage: 'es',
        })
        .expect(200);
      expect(updated.body).toMatchObject({
        firstName: 'Grace',
        lastName: 'Hopper',
        phone: '+34600111222',
        preferredLanguage: 'es',
      });
      expectNoPasswordHash(updated.body);
      const cleared = await as(token).put('/users/profile', { phone: null }).expect(200);
      expect(cleared.body.phone).toBeNull();
    });

    it('refuses null for a field that may only be left out with 400, not a 500 (found by fuzzing)', async () => {
      const { user, token } = await createUserWithToken(sut);
      for (const field of ['firstName', 'lastName', 'preferredLanguage']) {
        const res = await as(token)
          .put('/users/profile', { [field]: null })
          .expect(400);
        expect(new Set(res.body.errors.map((e: { field: string }) => e.field))).toEqual(new Set([field]));
      }
      const { token: adminToken } = await createUserWithToken(sut, { role: 'admin' });
      for (const field of ['email', 'role', 'isActive', 'firstName']) {
        await as(adminToken)
          .put(`/users/${user.id}`, { [field]: null })
          .expect(400);
      }
    });

    it.each([
      [{ role: 'admin' }, 'role'],
      [{ isActive: false }, 'isActive'],
      [{ email: 'new@example.com' }, 'email'],
      [{ passwordHash: 'x' }, 'passwordHash'],
      [{ preferredLanguage: 'fr' }, 'preferredLanguage'],
      [{ phone: '12345' }, 'phone'],
      [{ firstName: '' }, 'firstName'],
    ])('refuses %j with 400 and changes nothing', async (body, field) => {
      const { user, token } = await createUserWithToken(sut);
      const res = await as(token).put('/users/profile', body).expect(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      const [row] = await sut.dataSource.query('SELECT role, is_active, email FROM users WHERE id = $1', [
        user.id,
      ]);
      expect(row).toEqual({ role: 'customer', is_active: true, email: user.email });
    });
  });

  describe('a customer at /users/:id', () => {
    it('reads and updates themself', async () => {
      const { user, token } = await createUserWithToken(sut);
      await as(token).get(`/users/${user.id}`).expect(200);
      const res = await as(token).put(`/users/${user.id}`, { lastName: 'Changed' }).expect(200);
      expect(res.body.lastName).toBe('Changed');
    });

    it('gets 404 for another user, exactly like for an id that does not exist', async () => {
      const { token } = await createUserWithToken(sut);
      const other = await createUser(sut.dataSource);
      const forOther = await as(token).get(`/users/${other.id}`).expect(404);
      const forNobody = await as(token).get(`/users/${randomUUID()}`).expect(404);
      expect(forOther.body.detail).toBe(forNobody.body.detail);
      await as(token).put(`/users/${other.id}`, { lastName: 'Hacked' }).expect(404);
    });

    it('cannot raise their role, reactivate themself or change their email (400)', async () => {
      const { user, token } = await createUserWithToken(sut);
      for (const body of [{ role: 'admin' }, { isActive: true }, { email: 'me@example.com' }]) {
        const res = await as(token).put(`/users/${user.id}`, body).expect(400);
        expect(res.body.errors[0].message).toMatch(/should not exist/);
      }
      const [row] = await sut.dataSource.query('SELECT role FROM users WHERE id = $1', [user.id]);
      expect(row.role).toBe('customer');
    });

    it('gets 403 on admin-only routes', async () => {
      const { token } = await createUserWithToken(sut);
      const other = await createUser(sut.dataSource);
      const res = await as(token).get('/users').expect(403);
      expect(res.body).toMatchObject({ status: 403, title: 'Forbidden' });
      await as(token)
        .post('/users', {
          email: `x-${randomUUID()}@example.com`,
          password: 'Secret123',
          firstName: 'A',
          lastName: 'B',
        })
        .expect(403);
      await as(token).delete(`/users/${other.id}`).expect(403);
    });
  });

  describe('administration', () => {
    it('creates a user of any role, refusing a taken email with 409', async () => {
      const email = `admin-made-${randomUUID()}@example.com`;
      const res = await as(adminToken)
        .post('/users', { email, password: 'Secret123', firstName: 'New', lastName: 'Admin', role: 'admin' })
        .expect(201);
      expect(res.body).toMatchObject({ email, role: 'admin', isActive: true });
      expectNoPasswordHash(res.body);
      const again = await as(adminToken)
        .post('/users', { email: email.toUpperCase(), password: 'Secret123', firstName: 'A', lastName: 'B' })
        .expect(409);
      expect(again.body.code).toBe('EMAIL_TAKEN');
    });

    it('changes role, email and activity; deactivation ends the user’s sessions', async () => {
      const user = await createUser(sut.dataSource);
      const login = await sut
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(200);
      const newEmail = `renamed-${randomUUID()}@example.com`;
      const res = await as(adminToken)
        .put(`/users/${user.id}`, { role: 'admin', email: newEmail.toUpperCase(), isActive: false })
        .expect(200);
      expect(res.body).toMatchObject({ role: 'admin', email: newEmail, isActive: false });
      await sut
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: login.body.refreshToken })
        .expect(401);

      const taken = await createUser(sut.dataSource);
      const conflict = await as(adminToken).put(`/users/${user.id}`, { email: taken.email }).expect(409);
      expect(conflict.body.code).toBe('EMAIL_TAKEN');
    });

    it('soft-deletes: 204, then no login, no refresh, gone from reads, orders kept', async () => {
      const user = await createUser(sut.dataSource);
      const session = (
        await sut
          .http()
          .post('/api/v1/auth/login')
          .send({ email: user.email, password: user.password })
          .expect(200)
      ).body;
      await sut.dataSource.query(`INSERT INTO orders (user_id, total_amount) VALUES ($1, 10.00)`, [user.id]);

      await as(adminToken).delete(`/users/${user.id}`).expect(204);

      const [row] = await sut.dataSource.query(
        `SELECT is_active, deleted_at, (SELECT count(*)::int FROM orders WHERE user_id = $1) AS orders FROM users WHERE id = $1`,
        [user.id],
      );
      expect(row).toMatchObject({ is_active: false, deleted_at: expect.any(Date), orders: 1 });
      await sut
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(401);
      await sut.http().post('/api/v1/auth/refresh').send({ refreshToken: session.refreshToken }).expect(401);
      await as(adminToken).get(`/users/${user.id}`).expect(404);
      await as(adminToken).delete(`/users/${user.id}`).expect(404);
    });

    it('refuses an admin deleting themself and a malformed id', async () => {
      const { user, token } = await createUserWithToken(sut, { role: 'admin' });
      await as(token).delete(`/users/${user.id}`).expect(409);
      await as(token).get('/users/not-a-uuid').expect(400);
    });
  });

  describe('GET /users (admin)', () => {
    const tag = randomUUID().slice(0, 8);

    beforeAll(async () => {
      for (let i = 0; i < 5; i++) {
        await createUser(sut.dataSource, {
          email: `list-${tag}-${i}@example.com`,
          firstName: `Name${i}`,
          lastName: i % 2 === 0 ? `Even${tag}` : 'Odd',
          isActive: i !== 4,
        });
      }
    });

    it('pages the search results with meta', async () => {
      const first = await as(adminToken)
        .get(`/users?search=${tag}&limit=2&page=1&sortBy=email&sortOrder=asc`)
        .expect(200);
      // Sorted by email, not by creation: no keyset cursor.
      expect(first.body.meta).toEqual({ page: 1, limit: 2, total: 5, totalPages: 3, nextCursor: null });
      expect(first.body.data.map((u: { email: string }) => u.email)).toEqual([
        `list-${tag}-0@example.com`,
        `list-${tag}-1@example.com`,
      ]);
      const last = await as(adminToken)
        .get(`/users?search=${tag}&limit=2&page=3&sortBy=email&sortOrder=asc`)
        .expect(200);
      expect(last.body.data).toHaveLength(1);
      const beyond = await as(adminToken).get(`/users?search=${tag}&limit=2&page=9`).expect(200);
      expect(beyond.body).toEqual({
        data: [],
        meta: { page: 9, limit: 2, total: 5, totalPages: 3, nextCursor: null },
      });
      expectNoPasswordHash(first.body);
    });

    it('searches names case-insensitively and filters by isActive', async () => {
      const byName = await as(adminToken).get(`/users?search=even${tag.toUpperCase()}`).expect(200);
      expect(byName.body.meta.total).toBe(3);
      const inactive = await as(adminToken).get(`/users?search=${tag}&isActive=false`).expect(200);
      expect(inactive.body.data.map((u: { email: string }) => u.email)).toEqual([
        `list-${tag}-4@example.com`,
      ]);
      const active = await as(adminToken).get(`/users?search=${tag}&isActive=true`).expect(200);
      expect(active.body.meta.total).toBe(4);
    });

    it('treats LIKE wildcards in the search as plain characters', async () => {
      const res = await as(adminToken).get('/users?search=%25%25%25_').expect(200);
      expect(res.body.meta.total).toBe(0);
    });

    it.each([
      'limit=101',
      'limit=0',
      'page=0',
      'page=abc',
      'sortBy=password_hash',
      'sortOrder=sideways',
      'isActive=maybe',
      'role=admin',
    ])('refuses ?%s with 400', async (query) => {
      await as(adminToken).get(`/users?${query}`).expect(400);
    });
  });
});

describe('Users: the last active admin (issue 20)', () => {
  // Active admins are counted across the whole database: this describe has one of its own.
  let database: { url: string; drop: () => Promise<void> };
  let sut: TestApp;

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    sut = await startTestApp({ DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await sut.close();
    await database.drop();
  });

  /** Only the given admins stay admins: every other admin (the seeded one too) becomes a customer. */
  async function onlyAdmins(count: number): Promise<{ id: string; token: string }[]> {
    await sut.dataSource.query(`UPDATE users SET role = 'customer' WHERE role = 'admin'`);
    const admins = await Promise.all(
      Array.from({ length: count }, () => createUserWithToken(sut, { role: 'admin' })),
    );
    return admins.map(({ user, token }) => ({ id: user.id, token }));
  }

  const activeAdmins = async (): Promise<number> =>
    (
      await sut.dataSource.query<{ count: number }[]>(
        `SELECT count(*)::int AS count FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL`,
      )
    )[0].count;

  const put = (token: string, id: string, body: object) =>
    sut.http().put(`/api/v1/users/${id}`).set('authorization', `Bearer ${token}`).send(body);

  it('refuses to demote or deactivate the last active admin with 409, and changes nothing', async () => {
    // Before the fix both answered 200 and left the installation without an admin.
    const [admin] = await onlyAdmins(1);
    for (const change of [{ role: 'customer' }, { isActive: false }, { role: 'customer', isActive: false }]) {
      const res = await put(admin.token, admin.id, change).expect(409);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, code: 'LAST_ADMIN' });
    }
    await sut
      .http()
      .delete(`/api/v1/users/${admin.id}`)
      .set('authorization', `Bearer ${admin.token}`)
      .expect(409);
    const [row] = await sut.dataSource.query(
      `SELECT role, is_active AS "isActive", deleted_at AS "deletedAt" FROM users WHERE id = $1`,
      [admin.id],
    );
    expect(row).toEqual({ role: 'admin', isActive: true, deletedAt: null });
    // Other changes to the same admin still work.
    await put(admin.token, admin.id, { firstName: 'Still', role: 'admin', isActive: true }).expect(200);
  });

  it('lets an admin step down while another active admin remains, then not the last one', async () => {
    const [a, b] = await onlyAdmins(2);
    await put(a.token, a.id, { role: 'customer' }).expect(200);
    await put(b.token, b.id, { isActive: false }).expect(409);
    // a's token still says admin, but a role change revokes it at once (token revocation, issue 17)...
    await sut.http().delete(`/api/v1/users/${b.id}`).set('authorization', `Bearer ${a.token}`).expect(401);
    // ...and b, the last admin, cannot delete itself either: the rule is on the data.
    await sut.http().delete(`/api/v1/users/${b.id}`).set('authorization', `Bearer ${b.token}`).expect(409);
    expect(await activeAdmins()).toBe(1);
  });

  it('two admins demoting or deactivating each other at the same time: exactly one succeeds', async () => {
    for (const change of [{ role: 'customer' }, { isActive: false }]) {
      for (let round = 0; round < 5; round++) {
        const [a, b] = await onlyAdmins(2);
        const statuses = await Promise.all([
          put(a.token, b.id, change).then((r) => r.status),
          put(b.token, a.id, change).then((r) => r.status),
        ]);
        expect(statuses.sort()).toEqual([200, 409]);
        expect(await activeAdmins()).toBe(1);
      }
    }
  });
});
