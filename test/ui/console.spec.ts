import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { chromium, Browser, BrowserContext, Page } from 'playwright-core';
import { QueueRegistry } from '../../src/platform/queue/queue.registry';
import { QUEUES } from '../../src/platform/queue/queue-names';
import { createOrder } from '../factories/order.factory';
import { createProduct, CreatedProduct } from '../factories/product.factory';
import { createUser, createUserWithToken, TestUser } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { startTestApp, TestApp } from '../support/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-results/screenshots';

/**
 * The operator console (/console) in headless Chromium against the whole pipeline (relay, saga workers, the
 * deterministic mock gateway), on a database and queue prefix of its own. The specs run in order: each one
 * leaves what the next one's screenshot shows.
 */
describe('Operator console in a browser', () => {
  let sut: TestApp;
  let db: { url: string; drop: () => Promise<void> };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let admin: TestUser;
  let customerToken: string;
  let product: CreatedProduct;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    db = await createIsolatedDatabase();
    sut = await startTestApp({
      ROLE: 'all',
      DATABASE_URL: db.url,
      QUEUE_PREFIX: isolatedQueuePrefix('console'),
      PAYMENT_RANDOM_SEED: '7',
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
      PAYMENT_LATENCY_MIN_MS: '20',
      PAYMENT_LATENCY_MAX_MS: '60',
      NOTIFICATION_SUCCESS_RATE: '1',
      QUEUE_BACKOFF_DELAY_MS: '20',
      OUTBOX_POLL_INTERVAL_MS: '200',
    });
    admin = await createUser(sut.dataSource, { role: 'admin', email: `ops-${randomUUID()}@example.com` });
    customerToken = (await createUserWithToken(sut, { email: `ada-${randomUUID()}@example.com` })).token;
    product = await createProduct(sut.dataSource, {
      stock: 500,
      price: '24.50',
      name: 'Walnut desk organiser',
    });
    await createProduct(sut.dataSource, { stock: 3, lowStockThreshold: 10, name: 'Brass pen (low)' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content.Security.Policy|Trusted Type/i.test(message.text())) {
        cspViolations.push(message.text());
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.close();
    await db?.drop();
  });

  async function placeOrder(quantity = 2): Promise<string> {
    const res = await sut
      .http()
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${customerToken}`)
      .send({ items: [{ productId: product.id, quantity }] })
      .expect(202);
    return res.body.id as string;
  }

  async function statusOf(orderId: string): Promise<string> {
    const [row] = await sut.dataSource.query<{ status: string }[]>(
      'SELECT status FROM orders WHERE id = $1',
      [orderId],
    );
    return row.status;
  }

  const statusBadge = () => page.locator('#order-status .badge');

  it('is served with a strict Content-Security-Policy and asks an admin to sign in', async () => {
    const response = await page.goto(`${sut.url}/console/`);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("require-trusted-types-for 'script'");

    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The email or password is incorrect.').waitFor();
    await page.screenshot({ path: `${SHOTS}/console-login.png` });

    await page.getByLabel('Password').fill(admin.password);
    await page.keyboard.press('Enter'); // the form submits from the keyboard
    await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();

    // The refresh token is an HttpOnly cookie for the session path only; nothing sits in web storage.
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'aop_console_refresh');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth/console' });
    const stored = await page.evaluate('[localStorage.length, sessionStorage.length]');
    expect(stored).toEqual([0, 0]);

    // A reload keeps the session through the cookie.
    await page.reload();
    await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();
  });

  it('finds an order by id and shows it go from PENDING to CONFIRMED live', async () => {
    const queue = sut.get(QueueRegistry).get(QUEUES.orderProcessing);
    await queue.pause(); // the order stays PENDING until the page is watching it
    let orderId: string;
    try {
      orderId = await placeOrder();
      await page.goto(`${sut.url}/console/#/orders`);
      await page.getByLabel('Order id').fill(orderId);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('heading', { name: 'Matching orders (1)' }).waitFor();
      await page.getByRole('link', { name: `Order ${orderId}` }).click();
      await page.getByRole('heading', { name: `Order ${orderId}` }).waitFor();
      await expect(statusBadge().textContent()).resolves.toBe('PENDING');
    } finally {
      await queue.resume();
    }
    // No reload: the badge, the history and the saga follow the event stream.
    await statusBadge().getByText('CONFIRMED').waitFor({ timeout: 20_000 });
    const history = await page.locator('.history li .badge').allTextContents();
    expect(history[0]).toBe('PENDING');
    expect(history.at(-1)).toBe('CONFIRMED');
    await page.locator('.timeline .step').first().waitFor();
    await page.getByRole('cell', { name: 'CHARGE' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/console-order.png`, fullPage: true });
    expect(await statusOf(orderId)).toBe('CONFIRMED');
  });

  it('cancels a confirmed order after confirmation and shows the refund; a refused refund shows its detail', async () => {
    const orderId = await placeOrder(1);
    await eventually(async () => (await statusOf(orderId)) === 'CONFIRMED', {
      timeoutMs: 20_000,
      what: 'CONFIRMED',
    });
    await page.goto(`${sut.url}/console/#/orders/${orderId}`);
    await statusBadge().getByText('CONFIRMED').waitFor();

    // More than was paid: the API's problem detail is shown, no stack.
    await page.getByRole('button', { name: 'Refund…' }).click();
    await page.getByLabel('Amount').fill('9999.00');
    await page.screenshot({ path: `${SHOTS}/console-confirm.png` });
    await page.getByRole('dialog').getByRole('button', { name: 'Refund' }).click();
    const error = page.locator('#action-error');
    await error.filter({ hasText: /\w/ }).waitFor();
    const detail = (await error.textContent()) ?? '';
    expect(detail).toBe('A refund of 9999.00 exceeds what can still be refunded (24.50).');

    // Cancelling asks first; dismissing the dialog (Escape, or its Cancel button) does nothing.
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel', exact: true }).click();
    expect(await statusOf(orderId)).toBe('CONFIRMED');

    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel order' }).click();
    await statusBadge().getByText('CANCELLED').waitFor({ timeout: 20_000 });
    await page.getByRole('cell', { name: 'REFUND', exact: true }).waitFor({ timeout: 10_000 });
    await page.locator('.timeline .step.compensation').first().waitFor();
    await page.screenshot({ path: `${SHOTS}/console-order-cancelled.png`, fullPage: true });
    const refunds = await sut.dataSource.query<{ status: string }[]>(
      `SELECT status FROM payments WHERE order_id = $1 AND kind = 'REFUND'`,
      [orderId],
    );
    expect(refunds).toEqual([{ status: 'SUCCEEDED' }]);
  });

  it('lists what needs attention; replays and discards dead letters, replays a parked event', async () => {
    const stuck = await createOrder(sut.dataSource, { status: 'PROCESSING' });
    await sut.dataSource.query(
      `INSERT INTO saga_state (order_id, status, current_step, failure_reason, data)
       VALUES ($1, 'NEEDS_ATTENTION', 'chargePayment', 'REFUND_FAILED', '{"compensation": {"pending": ["chargePayment"]}}')`,
      [stuck.id],
    );
    const [parked] = await sut.dataSource.query<{ id: string }[]>(
      `INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload, attempts, last_error, parked_at)
       VALUES ('order', $1, 'OrderCancellationRequested', '{}', 10, 'broker refused the message', now())
       RETURNING id`,
      [stuck.id],
    );
    const [letter] = await sut.dataSource.query<{ id: string }[]>(
      `INSERT INTO dead_letters (queue, job_name, job_id, payload, error, failure_reason, attempts)
       VALUES ($1, 'send-notification', $2, '{"notificationId": "00000000-0000-4000-8000-000000000000"}',
               'SMTP timed out', 'ATTEMPTS_EXHAUSTED', 5) RETURNING id`,
      [QUEUES.notificationSending, `dl-${randomUUID()}`],
    );
    const [moot] = await sut.dataSource.query<{ id: string }[]>(
      `INSERT INTO dead_letters (queue, job_name, job_id, payload, error, failure_reason, attempts)
       VALUES ($1, 'expire-reservations', $2, '{}', 'lock timeout', 'PERMANENT_FAILURE', 1) RETURNING id`,
      [QUEUES.inventoryManagement, `dl-${randomUUID()}`],
    );

    await page.goto(`${sut.url}/console/#/attention`);
    await page.getByRole('heading', { name: 'Sagas needing attention (1)' }).waitFor();
    await page.getByRole('heading', { name: 'Parked outbox events (1)' }).waitFor();
    await page.getByRole('heading', { name: 'Dead letters (2)' }).waitFor();
    await page.locator('details.check').first().waitFor();
    await page.screenshot({ path: `${SHOTS}/console-attention.png`, fullPage: true });

    await page.getByRole('button', { name: /^Replay dead letter send-notification/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').getByText('Replay: done.').waitFor();
    const [row] = await sut.dataSource.query<{ status: string }[]>(
      'SELECT status FROM dead_letters WHERE id = $1',
      [letter.id],
    );
    expect(row.status).toBe('REPLAYED');

    await page.getByRole('button', { name: /^Delete dead letter expire-reservations/ }).click();
    await page.getByLabel('Why (kept in the audit log)').fill('reservations expire on the next pass anyway');
    await page.getByRole('dialog').getByRole('button', { name: 'Discard' }).click();
    await page.getByRole('status').getByText('Discard: done.').waitFor();
    const [discarded] = await sut.dataSource.query<{ status: string }[]>(
      'SELECT status FROM dead_letters WHERE id = $1',
      [moot.id],
    );
    expect(discarded.status).toBe('DISCARDED');

    await page.getByLabel('State').selectOption('REPLAYED');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'REPLAYED' }).first().waitFor();

    await page.getByRole('button', { name: /^Replay event OrderCancellationRequested/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('heading', { name: 'Parked outbox events (0)' }).waitFor();
    const [event] = await sut.dataSource.query<{ parked: boolean; replays: number }[]>(
      'SELECT parked_at IS NOT NULL AS parked, replay_count AS replays FROM outbox_events WHERE id = $1',
      [parked.id],
    );
    expect(event).toEqual({ parked: false, replays: 1 });
  });

  it('replenishes a low-stock product', async () => {
    await page.goto(`${sut.url}/console/#/stock`);
    await page.getByRole('cell', { name: 'Brass pen (low)' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/console-stock.png` });
    const row = page.getByRole('row').filter({ hasText: 'Brass pen (low)' });
    await row.getByRole('spinbutton').fill('40');
    await row.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replenish' }).click();
    await page
      .getByRole('status')
      .getByText(/replenished by 40/)
      .waitFor();
    // 43 available is above the threshold: the item leaves the low-stock list.
    await page.getByText('nothing is low.').waitFor();
  });

  it('shows readiness, queue depths, the circuit breaker and the outbox lag', async () => {
    await page.goto(`${sut.url}/console/#/health`);
    await page.getByRole('heading', { name: 'Queue depths' }).waitFor();
    for (const queue of Object.values(QUEUES)) {
      await page.getByRole('cell', { name: queue, exact: true }).waitFor();
    }
    await page.locator('.tile').filter({ hasText: 'Readiness' }).getByText('READY').waitFor();
    await page
      .locator('.tile')
      .filter({ hasText: 'Payment circuit breaker' })
      .getByText('CLOSED', { exact: true })
      .waitFor();
    await page
      .locator('.tile')
      .filter({ hasText: 'Outbox lag' })
      .getByText(/pending, oldest/)
      .waitFor();
    await page.screenshot({ path: `${SHOTS}/console-health.png`, fullPage: true });
  });

  it('works at phone width and from the keyboard', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${sut.url}/console/#/orders`);
    await page.getByRole('heading', { name: /Latest orders/ }).waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${SHOTS}/console-orders-phone.png`, fullPage: true });
    // The oldest order is the one confirmed live above: it has a whole timeline.
    await page
      .getByRole('link', { name: /^Order / })
      .last()
      .click();
    await page.getByRole('heading', { name: 'Saga timeline' }).waitFor();
    await page.locator('.timeline .step').first().waitFor();
    const orderOverflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - window.innerWidth',
    );
    expect(orderOverflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${SHOTS}/console-order-phone.png`, fullPage: true });
    await page.goto(`${sut.url}/console/#/orders`);

    // Tab from the top of a fresh page: the skip link, then the sections, each reachable without a mouse.
    await page.reload();
    await page.getByRole('heading', { name: /Latest orders/ }).waitFor();
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Skip to content');
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Orders');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Attention', level: 1 }).waitFor();

    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${sut.url}/console/#/orders`);
    await page.getByRole('heading', { name: /Latest orders/ }).waitFor();
    await page.screenshot({ path: `${SHOTS}/console-orders.png` });
    expect(cspViolations).toEqual([]);
  });
});
