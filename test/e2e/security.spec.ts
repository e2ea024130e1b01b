import { createHmac, createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { JWT_AUDIENCE, JWT_ISSUER } from '../../src/modules/auth/token.service';
import { createOrder } from '../factories/order.factory';
import { createProduct } from '../factories/product.factory';
import { createUser, createUserWithToken, TestUser } from '../factories/user.factory';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { documentedOperations, Operation, routeAccess, RouteAccess } from '../support/routes';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * OWASP API Security Top 10 checks against the real application. Refresh-token reuse (family
 * revocation) and 20 concurrent refreshes of one token are in auth.spec.ts; they are not repeated here.
 */

const PROBLEM_JSON = /^application\/problem\+json/;

/**
 * Who may call each documented route, written down by hand: a route that loses its `@Roles('admin')`
 * (or gains `@Public()`) no longer matches its list, and a new route must be placed in one of them.
 */
const ADMIN_ROUTES = [
  'get /api/v1/admin/dead-letters',
  'get /api/v1/admin/dead-letters/{id}',
  'post /api/v1/admin/dead-letters/{id}/replay',
  'delete /api/v1/admin/dead-letters/{id}',
  'get /api/v1/admin/invariants',
  'get /api/v1/admin/outbox/parked',
  'post /api/v1/admin/outbox/replay',
  'get /api/v1/admin/sagas',
  'post /api/v1/admin/queues/session',
  'get /api/v1/health/detailed',
  'get /api/v1/inventory',
  'post /api/v1/inventory/{productId}/replenish',
  'get /api/v1/inventory/{productId}/movements',
  'get /api/v1/orders/counts',
  'get /api/v1/orders/{id}/payments',
  'get /api/v1/orders/{id}/notifications',
  'post /api/v1/orders/{id}/ship',
  'post /api/v1/orders/{id}/deliver',
  'post /api/v1/orders/{id}/refund',
  'post /api/v1/products',
  'put /api/v1/products/{id}',
  'patch /api/v1/products/{id}',
  'delete /api/v1/products/{id}',
  'get /api/v1/users',
  'post /api/v1/users',
  'delete /api/v1/users/{id}',
  'post /api/v1/webhooks/endpoints',
  'get /api/v1/webhooks/endpoints',
  'get /api/v1/webhooks/endpoints/{id}',
  'patch /api/v1/webhooks/endpoints/{id}',
  'delete /api/v1/webhooks/endpoints/{id}',
  'post /api/v1/webhooks/endpoints/{id}/rotate-secret',
  'post /api/v1/webhooks/endpoints/{id}/test',
  'get /api/v1/webhooks/endpoints/{id}/deliveries',
  'post /api/v1/webhooks/deliveries/{id}/retry',
];
const PUBLIC_ROUTES = [
  'post /api/v1/auth/register',
  'post /api/v1/auth/login',
  'post /api/v1/auth/refresh',
  'post /api/v1/auth/console/session',
  'post /api/v1/auth/console/refresh',
  'delete /api/v1/auth/console/session',
  'delete /api/v1/admin/queues/session',
  'get /api/v1/health',
  'get /api/v1/health/live',
  'get /api/v1/health/ready',
  'get /api/v1/inventory/{productId}',
  'post /api/v1/payments/webhook',
  'get /api/v1/products',
  'get /api/v1/products/search',
  'get /api/v1/products/{id}',
];
/** Any signed-in user (each route scopes what a customer sees to their own records). */
const CUSTOMER_ROUTES = [
  'post /api/v1/auth/logout',
  'post /api/v1/auth/logout-all',
  'post /api/v1/orders',
  'get /api/v1/orders',
  'get /api/v1/orders/{id}',
  'get /api/v1/orders/{id}/status',
  'get /api/v1/orders/{id}/events',
  'get /api/v1/orders/{id}/saga',
  'get /api/v1/orders/{id}/history',
  'post /api/v1/orders/{id}/cancel',
  'get /api/v1/users/profile',
  'put /api/v1/users/profile',
  'get /api/v1/users/profile/notifications',
  'put /api/v1/users/profile/notifications',
  'get /api/v1/users/{id}',
  'put /api/v1/users/{id}',
];
const SHOP = 'https://shop.example';

interface Caller {
  user: TestUser;
  token: string;
}

const b64 = (value: object | string): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Builds a JWT by hand, so every header and claim (and the signature) can be whatever an attacker likes. */
function jwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  sign: { hmac: string; alg?: 'sha256' | 'sha512' } | { rsaPrivateKey: string } | { signature: string },
): string {
  const input = `${b64(header)}.${b64(claims)}`;
  if ('signature' in sign) {
    return `${input}.${sign.signature}`;
  }
  if ('hmac' in sign) {
    return `${input}.${createHmac(sign.alg ?? 'sha256', sign.hmac)
      .update(input)
      .digest('base64url')}`;
  }
  return `${input}.${createSign('RSA-SHA256').update(input).sign(sign.rsaPrivateKey, 'base64url')}`;
}

describe('Security (OWASP API Top 10)', () => {
  let sut: TestApp;
  let database: { url: string; drop: () => Promise<void> };
  let alice: Caller;
  let bob: Caller;
  let admin: Caller;
  let productId: string;
  let operations: Operation[];
  let access: Map<string, RouteAccess>;

  const as = (caller: Caller | undefined, method: Operation['method'], path: string) => {
    const req = sut.http()[method](path);
    return caller ? req.set('authorization', `Bearer ${caller.token}`) : req;
  };
  const withIds = (path: string, id: string) => path.replace(/\{[^}]+\}/g, id);

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    sut = await startTestApp({
      DATABASE_URL: database.url,
      // Login throttles count per IP in Redis: a prefix of its own keeps other spec files' logins out.
      QUEUE_PREFIX: isolatedQueuePrefix('security'),
      CORS_ORIGINS: SHOP,
    });
    [alice, bob, admin] = await Promise.all([
      createUserWithToken(sut),
      createUserWithToken(sut),
      createUserWithToken(sut, { role: 'admin' }),
    ]);
    productId = (await createProduct(sut.dataSource, { price: '15.00', stock: 50 })).id;
    operations = await documentedOperations(sut);
    access = routeAccess(sut);
  });
  afterAll(async () => {
    await sut.close();
    await database.drop();
  });

  describe('route inventory', () => {
    it('knows who may call every documented route (each has a handler with its access rules)', () => {
      const unknown = operations.filter((op) => !access.has(`${op.method} ${op.path}`));
      expect(unknown.map((op) => `${op.method} ${op.path}`)).toEqual([]);
    });

    it('matches the written-down lists: every route is admin-only, public or for customers, as pinned', () => {
      const byAccess = (which: (a: RouteAccess) => boolean) =>
        operations
          .filter((op) => which(access.get(`${op.method} ${op.path}`)!))
          .map((op) => `${op.method} ${op.path}`)
          .sort();
      expect({
        admin: byAccess((a) => !a.isPublic && a.roles?.includes('customer') === false),
        public: byAccess((a) => a.isPublic),
        customer: byAccess((a) => !a.isPublic && (a.roles === undefined || a.roles.includes('customer'))),
      }).toEqual({
        admin: [...ADMIN_ROUTES].sort(),
        public: [...PUBLIC_ROUTES].sort(),
        customer: [...CUSTOMER_ROUTES].sort(),
      });
    });
  });

  describe('API1 broken object-level authorisation', () => {
    let aliceOrder: string;

    beforeAll(async () => {
      aliceOrder = (await createOrder(sut.dataSource, { userId: alice.user.id, status: 'CANCELLED' })).id;
    });

    const routesUnder = (prefix: string) =>
      operations.filter((op) => op.path.startsWith(prefix) && op.path.includes('{'));

    it('answers another customer 404 on every route of an order (403 where only admins may go), never the order', async () => {
      const routes = routesUnder('/api/v1/orders/');
      expect(routes.length).toBeGreaterThanOrEqual(3);
      for (const op of routes) {
        const path = withIds(op.path, aliceOrder);
        const res = await as(bob, op.method, path).send(op.method === 'get' ? undefined : {});
        const adminOnly = access.get(`${op.method} ${op.path}`)?.roles?.includes('customer') === false;
        expect({ route: `${op.method} ${op.path}`, status: res.status }).toEqual({
          route: `${op.method} ${op.path}`,
          status: adminOnly ? 403 : 404,
        });
        expect(res.text).not.toContain(alice.user.id);
        // The owner does get it (for the reads), so the 404 is about who asks, not the id.
        if (op.method === 'get' && !adminOnly) {
          expect((await as(alice, 'get', path)).status).toBe(200);
        }
      }
      const list = await as(bob, 'get', '/api/v1/orders?limit=100').expect(200);
      expect(list.body.data.map((o: { id: string }) => o.id)).not.toContain(aliceOrder);
    });

    it('answers another customer 404 on every route of a user (403 where only admins may go)', async () => {
      const routes = routesUnder('/api/v1/users/');
      expect(routes.length).toBeGreaterThanOrEqual(3);
      for (const op of routes) {
        const res = await as(bob, op.method, withIds(op.path, alice.user.id)).send(
          op.method === 'get' || op.method === 'delete' ? undefined : { firstName: 'Mallory' },
        );
        const adminOnly = access.get(`${op.method} ${op.path}`)?.roles?.includes('customer') === false;
        expect({ route: `${op.method} ${op.path}`, status: res.status }).toEqual({
          route: `${op.method} ${op.path}`,
          status: adminOnly ? 403 : 404,
        });
      }
      const [row] = await sut.dataSource.query(`SELECT first_name FROM users WHERE id = $1`, [alice.user.id]);
      expect(row.first_name).not.toBe('Mallory');
    });

    it('scopes Idempotency-Key per user: the same key from another user makes their own order, never a replay', async () => {
      const key = `shared-${randomUUID()}`;
      const body = { items: [{ productId, quantity: 1 }] };
      const first = await as(alice, 'post', '/api/v1/orders')
        .set('idempotency-key', key)
        .send(body)
        .expect(202);
      const other = await as(bob, 'post', '/api/v1/orders')
        .set('idempotency-key', key)
        .send(body)
        .expect(202);

      expect(other.body.id).not.toBe(first.body.id);
      expect(other.headers['idempotent-replayed']).toBeUndefined();
      const owners = await sut.dataSource.query(
        `SELECT id, user_id FROM orders WHERE idempotency_key = $1 ORDER BY created_at`,
        [key],
      );
      expect(owners).toEqual([
        { id: first.body.id, user_id: alice.user.id },
        { id: other.body.id, user_id: bob.user.id },
      ]);
      // Alice's retry still replays her own order; Bob's different body under the key is his business, not a 422.
      const replay = await as(alice, 'post', '/api/v1/orders')
        .set('idempotency-key', key)
        .send(body)
        .expect(202);
      expect(replay.body.id).toBe(first.body.id);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      await as(bob, 'get', `/api/v1/orders/${first.body.id}`).expect(404);
    });
  });

  describe('API5 broken function-level authorisation', () => {
    it('answers every admin-only route 403 for a customer and 401 without a token', async () => {
      // The pinned list, not the handlers' metadata: a route that lost its decorator answers 2xx/404 here.
      const adminRoutes = ADMIN_ROUTES.map((route) => {
        const [method, path] = route.split(' ') as [Operation['method'], string];
        return { method, path };
      });
      const seen: string[] = [];
      for (const op of adminRoutes) {
        const path = withIds(op.path, randomUUID());
        const body = op.method === 'get' || op.method === 'delete' ? undefined : {};
        const customer = await as(alice, op.method, path).send(body);
        const anonymous = await as(undefined, op.method, path).send(body);
        seen.push(`${op.method} ${op.path}: ${customer.status}/${anonymous.status}`);
        expect(customer.headers['content-type']).toMatch(PROBLEM_JSON);
      }
      expect(seen).toEqual(adminRoutes.map((op) => `${op.method} ${op.path}: 403/401`));
      // Bull Board lives outside /api/v1 and outside the OpenAPI document.
      await as(alice, 'get', '/admin/queues').expect(403);
      await as(undefined, 'get', '/admin/queues').expect(401);
    });

    it('answers every route that is not public 401 without a token', async () => {
      const guarded = operations.filter((op) => access.get(`${op.method} ${op.path}`)?.isPublic === false);
      const statuses = await Promise.all(
        guarded.map(async (op) => {
          const res = await as(undefined, op.method, withIds(op.path, randomUUID())).send(
            op.method === 'get' || op.method === 'delete' ? undefined : {},
          );
          return `${op.method} ${op.path}: ${res.status}`;
        }),
      );
      expect(statuses).toEqual(guarded.map((op) => `${op.method} ${op.path}: 401`));
    });
  });

  describe('API3 mass assignment', () => {
    const registration = () => ({
      email: `mass-${randomUUID()}@example.com`,
      password: 'Correct-Horse-9',
      firstName: 'Eve',
      lastName: 'Attacker',
    });

    it.each([
      ['role', 'admin'],
      ['isActive', false],
      ['id', '00000000-0000-4000-8000-000000000666'],
      ['createdAt', '2000-01-01T00:00:00Z'],
      ['passwordHash', '$argon2id$v=19$m=1,t=1,p=1$x$y'],
      ['deletedAt', null],
    ])('refuses a registration that sets %s with 400 and creates nobody', async (field, value) => {
      const body = { ...registration(), [field]: value };
      const res = await sut.http().post('/api/v1/auth/register').send(body).expect(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      const rows = await sut.dataSource.query(`SELECT 1 FROM users WHERE email = $1`, [body.email]);
      expect(rows).toHaveLength(0);
    });

    it.each([
      ['role', 'admin'],
      ['isActive', true],
      ['email', 'taken-over@example.com'],
      ['id', '00000000-0000-4000-8000-000000000666'],
      ['createdAt', '2000-01-01T00:00:00Z'],
    ])('refuses a customer updating their own %s with 400 (profile and /users/:id)', async (field, value) => {
      await as(alice, 'put', '/api/v1/users/profile')
        .send({ [field]: value })
        .expect(400);
      await as(alice, 'put', `/api/v1/users/${alice.user.id}`)
        .send({ [field]: value })
        .expect(400);
      const [row] = await sut.dataSource.query(`SELECT role, email FROM users WHERE id = $1`, [
        alice.user.id,
      ]);
      expect(row).toEqual({ role: 'customer', email: alice.user.email });
    });

    it.each([
      ['status', 'CONFIRMED'],
      ['totalAmount', '0.01'],
      ['userId', '00000000-0000-4000-8000-000000000666'],
      ['id', '00000000-0000-4000-8000-000000000666'],
    ])('refuses an order that sets its own %s with 400', async (field, value) => {
      await as(alice, 'post', '/api/v1/orders')
        .send({ items: [{ productId, quantity: 1 }], [field]: value })
        .expect(400);
    });
  });

  describe('API2 broken authentication: access-token tampering', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const secret = () => sut.config.auth.jwtSecret;
    const claims = (overrides: Record<string, unknown> = {}) => ({
      sub: alice.user.id,
      email: alice.user.email,
      role: 'customer',
      jti: randomUUID(),
      iat: now(),
      exp: now() + 600,
      iss: JWT_ISSUER,
      aud: JWT_AUDIENCE,
      ...overrides,
    });
    const HS256 = { alg: 'HS256', typ: 'JWT' };

    it('accepts the genuine article (so every 401 below is about the tampering)', async () => {
      await as(undefined, 'get', '/api/v1/users/profile')
        .set('authorization', `Bearer ${jwt(HS256, claims(), { hmac: secret() })}`)
        .expect(200);
    });

    const variants: [string, () => string | Promise<string>][] = [
      [
        'alg none, no signature',
        () => jwt({ alg: 'none', typ: 'JWT' }, claims({ role: 'admin' }), { signature: '' }),
      ],
      ['alg None (case games)', () => jwt({ alg: 'None', typ: 'JWT' }, claims(), { signature: '' })],
      [
        'alg HS512 with the right secret',
        () => jwt({ alg: 'HS512', typ: 'JWT' }, claims(), { hmac: secret(), alg: 'sha512' }),
      ],
      [
        'alg RS256 signed with an attacker key pair',
        () => {
          const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
          return jwt({ alg: 'RS256', typ: 'JWT' }, claims(), {
            rsaPrivateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          });
        },
      ],
      [
        'alg RS256 in the header over an HMAC signature',
        () => jwt({ alg: 'RS256', typ: 'JWT' }, claims(), { hmac: secret() }),
      ],
      [
        'sub changed, old signature',
        () => {
          const [h, , s] = jwt(HS256, claims(), { hmac: secret() }).split('.');
          return `${h}.${b64(claims({ sub: bob.user.id }))}.${s}`;
        },
      ],
      [
        'role raised to admin, old signature',
        () => {
          const [h, , s] = jwt(HS256, claims(), { hmac: secret() }).split('.');
          return `${h}.${b64(claims({ role: 'admin' }))}.${s}`;
        },
      ],
      ['expired', () => jwt(HS256, claims({ iat: now() - 1000, exp: now() - 10 }), { hmac: secret() })],
      [
        'not yet valid (nbf in the future)',
        () => jwt(HS256, claims({ nbf: now() + 3600 }), { hmac: secret() }),
      ],
      ['wrong issuer', () => jwt(HS256, claims({ iss: 'https://evil.example' }), { hmac: secret() })],
      ['wrong audience', () => jwt(HS256, claims({ aud: 'another-api' }), { hmac: secret() })],
      [
        'no exp claim (a token that never expires)',
        () => jwt(HS256, claims({ exp: undefined }), { hmac: secret() }),
      ],
      [
        'a refresh token used as an access token',
        async () => {
          const res = await sut
            .http()
            .post('/api/v1/auth/login')
            .send({ email: alice.user.email, password: alice.user.password })
            .expect(200);
          return res.body.refreshToken as string;
        },
      ],
      [
        'kid with path traversal, signed with an empty key',
        () => jwt({ ...HS256, kid: '../../../../../../dev/null' }, claims(), { hmac: '' }),
      ],
      [
        'kid with SQL injection, signed with the injected key',
        () => jwt({ ...HS256, kid: "x' UNION SELECT 'attacker-key' --" }, claims(), { hmac: 'attacker-key' }),
      ],
      [
        'empty signature',
        () => {
          const [h, p] = jwt(HS256, claims(), { hmac: secret() }).split('.');
          return `${h}.${p}.`;
        },
      ],
      [
        'signed with another secret',
        () => jwt(HS256, claims(), { hmac: 'another-secret-another-secret-0123456789' }),
      ],
      [
        'embedded jwk: RS256 signed with an attacker key pair whose public key rides in the header',
        () => {
          const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
          return jwt({ alg: 'RS256', typ: 'JWT', jwk: publicKey.export({ format: 'jwk' }) }, claims(), {
            rsaPrivateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          });
        },
      ],
      [
        'embedded jwk: an HMAC key of the attacker in the header, signed with it',
        () => {
          const key = 'attacker-hmac-key-attacker-hmac-key-0123';
          return jwt({ ...HS256, jwk: { kty: 'oct', k: b64(key) } }, claims({ role: 'admin' }), {
            hmac: key,
          });
        },
      ],
      [
        'jku: a key set URL of the attacker, signed with the key it serves',
        () =>
          jwt({ ...HS256, jku: 'https://evil.example/.well-known/jwks.json' }, claims(), {
            hmac: 'attacker-key',
          }),
      ],
      [
        'jwk header over a genuine signature (a token that brings a key is never ours)',
        () => jwt({ ...HS256, jwk: { kty: 'oct', k: b64(secret()) } }, claims(), { hmac: secret() }),
      ],
      [
        'jku header over a genuine signature',
        () => jwt({ ...HS256, jku: 'https://evil.example/jwks.json' }, claims(), { hmac: secret() }),
      ],
    ];

    it.each(variants)('refuses %s with 401', async (_name, make) => {
      const token = await make();
      const res = await as(undefined, 'get', '/api/v1/users/profile').set('authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    });
  });

  describe('API2 broken authentication: passwords and login', () => {
    it('hashes passwords with argon2id at or above an OWASP-recommended parameter set', async () => {
      const email = `hash-${randomUUID()}@example.com`;
      await sut
        .http()
        .post('/api/v1/auth/register')
        .send({ email, password: 'Correct-Horse-9', firstName: 'H', lastName: 'S' })
        .expect(201);
      const [{ password_hash: stored }] = await sut.dataSource.query(
        `SELECT password_hash FROM users WHERE email = $1`,
        [email],
      );
      const match = /^\$argon2id\$v=19\$([a-z]=\d+(?:,[a-z]=\d+)*)\$/.exec(stored as string);
      expect(match).not.toBeNull();
      const { m, t, p } = Object.fromEntries(
        match![1].split(',').map((pair) => [pair[0], Number(pair.slice(2))]),
      ) as Record<'m' | 't' | 'p', number>;
      // OWASP Password Storage Cheat Sheet: any of these (memory in KiB, iterations) with p = 1.
      const owasp = [
        [47_104, 1],
        [19_456, 2],
        [12_288, 3],
        [9_216, 4],
        [7_168, 5],
      ];
      expect(p).toBeGreaterThanOrEqual(1);
      expect(owasp.some(([memory, iterations]) => m >= memory && t >= iterations)).toBe(true);
    });

    it('throttles a brute force on one account even when each attempt forges another X-Forwarded-For', async () => {
      const victim = await createUser(sut.dataSource);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const res = await sut
          .http()
          .post('/api/v1/auth/login')
          .set('x-forwarded-for', `203.0.113.${i + 1}`)
          .send({ email: victim.email, password: `wrong-${i}` });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    });

    it('throttles one IP spraying many accounts, whatever X-Forwarded-For says (TRUST_PROXY is off)', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) {
        const res = await sut
          .http()
          .post('/api/v1/auth/login')
          .set('x-forwarded-for', `198.51.100.${i + 1}`)
          .send({ email: `nobody-${randomUUID()}@example.com`, password: 'Guess-123' });
        statuses.push(res.status);
      }
      expect(statuses.slice(-2)).toEqual([429, 429]);
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(20);
    });
  });

  describe('API8 injection through sorting and filtering', () => {
    const payloads = [
      'name; DROP TABLE products --',
      'price desc, (SELECT password_hash FROM users LIMIT 1)',
      '1',
      'created_at',
      "id' OR '1'='1",
      'CASE WHEN (1=1) THEN name ELSE price END',
    ];
    const cases: [string, string][] = [
      ...payloads.flatMap((p): [string, string][] => [
        ['/api/v1/products', `sortBy=${encodeURIComponent(p)}`],
        ['/api/v1/users', `sortBy=${encodeURIComponent(p)}`],
      ]),
      ['/api/v1/products', `sortOrder=${encodeURIComponent('ASC; DELETE FROM products')}`],
      ['/api/v1/products', `sortOrder=${encodeURIComponent('desc nulls first')}`],
      ['/api/v1/users', `sortOrder=${encodeURIComponent('ASC, (SELECT 1)')}`],
      ['/api/v1/products', `minPrice=${encodeURIComponent('0 OR 1=1')}`],
      ['/api/v1/products', `maxPrice=${encodeURIComponent("1'; --")}`],
      ['/api/v1/users', `isActive=${encodeURIComponent('true OR 1=1')}`],
      ['/api/v1/orders', `status=${encodeURIComponent("CONFIRMED' OR '1'='1")}`],
      ['/api/v1/orders', `status=${encodeURIComponent('PENDING,CONFIRMED')}`],
      ['/api/v1/inventory', `lowStock=${encodeURIComponent('1 OR 1=1')}`],
      ['/api/v1/inventory', `page=${encodeURIComponent('1; SELECT pg_sleep(5)')}`],
      ['/api/v1/orders', `limit=${encodeURIComponent('10 UNION SELECT * FROM users')}`],
    ];

    it.each(cases)('GET %s?%s answers 400 from the whitelist', async (path, query) => {
      const res = await as(admin, 'get', `${path}?${query}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.body.data).toBeUndefined();
    });

    it('treats injection in free-text search as text: 200 with no rows, never an error', async () => {
      for (const [path, param] of [
        ['/api/v1/products', 'search'],
        ['/api/v1/products/search', 'q'],
        ['/api/v1/users', 'search'],
      ]) {
        const res = await as(admin, 'get', `${path}?${param}=${encodeURIComponent("x' OR '1'='1' --")}`);
        expect({ path, status: res.status, rows: res.body.data?.length }).toEqual({
          path,
          status: 200,
          rows: 0,
        });
      }
    });
  });

  describe('API8 security misconfiguration: headers and CORS', () => {
    it('sends the helmet headers on answers and on errors', async () => {
      for (const res of [
        await sut.http().get('/api/v1/health/live').expect(200),
        await sut.http().get('/api/v1/no-such-route').expect(404),
      ]) {
        expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
        expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'self'/);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['x-powered-by']).toBeUndefined();
      }
    });

    it('sends HSTS and upgrade-insecure-requests only over https, and trusts X-Forwarded-Proto only with TRUST_PROXY', async () => {
      // Over plain http they sent browsers to an https that is not there: Swagger UI loaded blank.
      for (const res of [
        await sut.http().get('/api/docs').set('host', 'api.internal:3000').expect(200),
        await sut.http().get('/api/v1/health/live').set('x-forwarded-proto', 'https').expect(200),
      ]) {
        expect(res.headers['strict-transport-security']).toBeUndefined();
        expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
        expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
      }
    });

    it(`allows ${SHOP} (CORS_ORIGINS) and gives a foreign origin no Access-Control-Allow-Origin`, async () => {
      const preflight = (origin: string) =>
        sut
          .http()
          .options('/api/v1/orders')
          .set('origin', origin)
          .set('access-control-request-method', 'POST')
          .set('access-control-request-headers', 'authorization,content-type');

      const allowed = await preflight(SHOP);
      expect(allowed.headers['access-control-allow-origin']).toBe(SHOP);

      for (const foreign of ['https://evil.example', 'https://shop.example.evil.example', 'null']) {
        const res = await preflight(foreign);
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        const simple = await sut.http().get('/api/v1/products').set('origin', foreign);
        expect(simple.headers['access-control-allow-origin']).toBeUndefined();
      }
    });
  });
});
