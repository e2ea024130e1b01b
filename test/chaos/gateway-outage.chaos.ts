import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { ChaosEnv, ChaosUser } from './support/chaos-env';
import { outcomeCounts } from './support/load';
import { reportFigures, sized } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectClean, recoverAndCheck } from './support/verdict';

interface Scrape {
  at: number;
  state: number;
  toOpen: number;
  toHalfOpen: number;
  toClosed: number;
  /** Calls that reached the gateway while it was down (PaymentsService counts them by reason). */
  outageCalls: number;
}

/**
 * The payment gateway goes down (PAYMENT_OUTAGE_FILE) while orders flow, then comes back. The breaker
 * opens, lets nothing through while open except its half-open probes, closes once a probe succeeds;
 * every order then completes, nobody is charged twice. The worker runs as ROLE=all so its /metrics
 * (breaker state, transitions, payment outcomes by reason) can be scraped.
 */
describe('chaos: payment gateway outage', () => {
  const OUTAGE_MS = sized(10_000, 60_000);
  const ORDERS = sized(120, 600);
  const outageFile = join(mkdtempSync(join(tmpdir(), 'aop-chaos-gateway-')), 'down');
  let env: ChaosEnv;

  beforeAll(async () => {
    env = await new ChaosEnv('gateway-outage', {
      PAYMENT_OUTAGE_FILE: outageFile,
      PAYMENT_BREAKER_VOLUME_THRESHOLD: '5',
      PAYMENT_BREAKER_RESET_TIMEOUT_MS: '2000',
    }).setUp();
  });
  afterAll(async () => {
    rmSync(outageFile, { force: true });
    await env.tearDown();
  });

  async function scrape(worker: ServiceProcess): Promise<Scrape | undefined> {
    const res = await env.request(worker, 'GET', '/metrics', { timeoutMs: 2000 });
    if (res.status !== 200) {
      return undefined;
    }
    const samples = parsePrometheusText(String(res.body.text));
    const breaker = { breaker: 'payment-gateway' };
    const count = (to: string) =>
      sampleValue(samples, 'aop_circuit_breaker_transitions_total', { ...breaker, to }) ?? 0;
    return {
      at: Date.now(),
      state: sampleValue(samples, 'aop_circuit_breaker_state', breaker) ?? -1,
      toOpen: count('open'),
      toHalfOpen: count('half-open'),
      toClosed: count('closed'),
      outageCalls:
        sampleValue(samples, 'aop_payments_total', { outcome: 'transient', reason: 'gateway_outage' }) ?? 0,
    };
  }

  it(`${ORDERS} orders through a ${OUTAGE_MS / 1000} s outage: breaker opens, probes only, closes; no double charge`, async () => {
    const started = Date.now();
    const api = await env.start('api');
    const worker = await env.start('all');
    const users = await env.createUsers(10);
    const product = await env.createProduct({ stock: 100_000, price: '21.00' });

    const scrapes: Scrape[] = [];
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        const s = await scrape(worker);
        if (s) {
          scrapes.push(s);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    // Orders arrive at a steady pace from before the outage until after it.
    const paceMs = (OUTAGE_MS + 6000) / ORDERS;
    const placing = paced(env, api, users, product.id, ORDERS, paceMs);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    writeFileSync(outageFile, '');
    const outageStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    rmSync(outageFile);
    const outageEnd = Date.now();
    const accepted = await placing;

    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 120_000) });
    scraping = false;
    await scraper;
    const last = scrapes.at(-1)!;
    // A call while open: the outage counter moved between two scrapes that both saw the breaker open
    // with no half-open probe in between.
    let callsWhileOpen = 0;
    for (let i = 1; i < scrapes.length; i++) {
      const [a, b] = [scrapes[i - 1], scrapes[i]];
      if (a.state === 2 && b.state === 2 && a.toHalfOpen === b.toHalfOpen) {
        callsWhileOpen += b.outageCalls - a.outageCalls;
      }
    }
    const closedAfterOutage = scrapes.find((s) => s.at > outageEnd && s.state === 0);
    // While the circuit is open, charge jobs wait for it instead of spending their attempts.
    const [{ n: paymentDeadLetters }] = await env.ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM dead_letters WHERE queue = 'payment-processing'`,
    );
    reportFigures({
      scenario: 'gateway-outage',
      orders: accepted,
      kills: 0,
      violations: verdict.invariants.violations + verdict.unsettled + callsWhileOpen,
      durationMs: Date.now() - started,
      outageMs: outageEnd - outageStart,
      breakerOpened: last.toOpen,
      halfOpenProbes: last.toHalfOpen,
      breakerClosedAfterOutageMs: closedAfterOutage ? closedAfterOutage.at - outageEnd : -1,
      gatewayCallsDuringOutage: last.outageCalls,
      callsWhileOpen,
      paymentDeadLetters,
      scrapes: scrapes.length,
      outcomes: await outcomeCounts(env),
    });

    expect(accepted).toBe(ORDERS);
    expect(last.toOpen).toBeGreaterThanOrEqual(1);
    expect(last.outageCalls).toBeGreaterThan(0);
    expect(callsWhileOpen).toBe(0);
    expect(paymentDeadLetters).toBe(0);
    // Probes: about one per reset timeout during the outage, each a single call.
    expect(last.toHalfOpen).toBeLessThanOrEqual(Math.ceil(OUTAGE_MS / 2000) + 2);
    expect(closedAfterOutage).toBeDefined();
    expect(last.state).toBe(0);
    expect(await outcomeCounts(env)).toEqual({ CONFIRMED: ORDERS });
    expectClean(verdict);
    await Promise.all([api.stop(), worker.stop()]);
  });
});

async function paced(
  env: ChaosEnv,
  api: ServiceProcess,
  users: ChaosUser[],
  productId: string,
  count: number,
  paceMs: number,
): Promise<number> {
  const pending: Promise<boolean>[] = [];
  for (let i = 0; i < count; i++) {
    pending.push(
      env
        .placeOrder(api, users[i % users.length], {
          items: [{ productId, quantity: 1 }],
          paymentToken: 'tok_success',
        })
        .then((a) => a.status === 202),
    );
    await new Promise((resolve) => setTimeout(resolve, paceMs));
  }
  return (await Promise.all(pending)).filter(Boolean).length;
}
