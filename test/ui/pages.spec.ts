import { mkdirSync } from 'node:fs';
import { chromium, Browser } from 'playwright-core';
import { createUserWithToken } from '../factories/user.factory';
import { startTestApp, TestApp } from '../support/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-results/screenshots';

describe('Pages in a browser', () => {
  let sut: TestApp;
  let browser: Browser;
  let adminToken: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    sut = await startTestApp();
    adminToken = (await createUserWithToken(sut, { role: 'admin' })).token;
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
  });
  afterAll(async () => {
    await browser?.close();
    await sut?.close();
  });

  it('Swagger UI at /api/docs renders the API with bearer auth', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${sut.url}/api/docs`);
    await page.getByText('Place an order: accepted at once, processed in the background').waitFor();
    const shot = await page.screenshot({ path: `${SHOTS}/swagger.png`, fullPage: false });

    expect(shot.length).toBeGreaterThan(20_000);
    await expect(page.getByRole('button', { name: /Authorize/ }).count()).resolves.toBeGreaterThan(0);
    for (const tag of ['health', 'orders', 'products', 'auth']) {
      await expect(page.locator(`#operations-tag-${tag}`).count()).resolves.toBe(1);
    }
    await page.close();
  });

  it('Bull Board at /admin/queues shows the four queues to an admin, and nothing without a session', async () => {
    const anonymous = await browser.newPage();
    const refused = await anonymous.goto(`${sut.url}/admin/queues`);
    expect(refused?.status()).toBe(401);
    await anonymous.close();

    // A person's way in: the session endpoint sets an HttpOnly cookie scoped to /admin/queues.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const session = await context.request.post(`${sut.url}/api/v1/admin/queues/session`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(session.status()).toBeLessThan(300);
    const page = await context.newPage();
    await page.goto(`${sut.url}/admin/queues`);
    for (const queue of [
      'order-processing',
      'payment-processing',
      'inventory-management',
      'notification-sending',
    ]) {
      await page.getByText(queue).first().waitFor();
    }
    // The overview loads the queues' counts through the board's own API, under the same cookie.
    await page.getByText('Loading...').waitFor({ state: 'detached' });
    const shot = await page.screenshot({ path: `${SHOTS}/bull-board.png` });
    expect(shot.length).toBeGreaterThan(10_000);
    await context.close();
  });
});
