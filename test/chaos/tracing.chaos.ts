import { OtlpReceiver, ReceivedSpan, SPAN_KIND } from '../support/otlp-receiver';
import { eventually } from '../support/eventually';
import { ChaosEnv, ChaosUser } from './support/chaos-env';
import { ServiceProcess } from './support/service-process';

const FORWARD_STEPS = [
  'verifyStock',
  'reserveInventory',
  'chargePayment',
  'confirmReservation',
  'notifyCustomer',
];

/** Tracing on, spans sent every 100 ms (a SIGKILLed worker loses at most that much of its own). */
const tracingEnv = (endpoint: string, protocol = 'http/json'): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_SERVICE_NAME: 'aop-under-test',
  OTEL_BSP_SCHEDULE_DELAY: '100',
});

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan[] {
  return spans.filter((s) => s.name === name);
}

function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = byName(spans, name);
  if (found.length !== 1) {
    throw new Error(
      `expected one span "${name}", found ${found.length}: ${spans.map((s) => s.name).join(', ')}`,
    );
  }
  return found[0];
}

/** The span's parent, which must be in the same trace. */
function parentOf(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan {
  const parent = spans.find((s) => s.spanId === span.parentSpanId);
  if (!parent) {
    throw new Error(`the parent of "${span.name}" is not in the trace`);
  }
  return parent;
}

/** Parent, grandparent, … up to the root; every one must be in the trace. */
function ancestorsOf(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (let at = span; at.parentSpanId;) {
    at = parentOf(spans, at);
    out.push(at);
  }
  return out;
}

/**
 * OpenTelemetry end to end, with real processes exporting to an OTLP/HTTP receiver in this test: one order
 * is one trace, from the HTTP request through the accept statement, the relay, the saga's steps, the gateway
 * and the notification; and a worker killed mid-saga leaves the steps its successor runs in that same trace.
 */
describe('chaos: one trace per order (OpenTelemetry)', () => {
  const receiver = new OtlpReceiver();
  let endpoint: string;
  let env: ChaosEnv;
  let customer: ChaosUser;

  beforeAll(async () => {
    endpoint = await receiver.start();
    env = await new ChaosEnv('tracing').setUp();
    [customer] = await env.createUsers(1);
  });
  afterAll(async () => {
    await env?.tearDown();
    await receiver.stop();
  });

  async function placeOrder(api: ServiceProcess): Promise<string> {
    const product = await env.createProduct({ stock: 10, price: '25.00' });
    const placed = await env.placeOrder(api, customer, { items: [{ productId: product.id, quantity: 1 }] });
    expect(placed.status).toBe(202);
    return placed.body.id as string;
  }

  async function settled(orderId: string): Promise<string> {
    let status = '';
    await eventually(
      async () => {
        const [row] = await env.ds.query<{ status: string; saga: string | null }[]>(
          `SELECT o.status, s.status AS saga FROM orders o LEFT JOIN saga_state s ON s.order_id = o.id WHERE o.id = $1`,
          [orderId],
        );
        status = row.status;
        return row.saga === 'COMPLETED';
      },
      { timeoutMs: 30_000, what: `order ${orderId} confirmed` },
    );
    return status;
  }

  /** The trace the order's spans are in, once its notification job's span has arrived. */
  async function traceOf(orderId: string): Promise<ReceivedSpan[]> {
    const first = await eventually(() => receiver.spans.find((s) => s.attributes['order.id'] === orderId), {
      timeoutMs: 10_000,
      what: 'spans of the order',
    });
    await eventually(
      () => receiver.trace(first.traceId).some((s) => s.name === 'process notification-sending'),
      { timeoutMs: 15_000, what: 'the notification job span' },
    );
    return receiver.trace(first.traceId);
  }

  it('one order is one trace: request, accept statement, relay, saga steps, gateway, notification', async () => {
    const api = await env.start('api', {
      ...tracingEnv(endpoint),
      TRACE_VIEW_URL: 'http://traces.example:16686/trace/{traceId}',
    });
    const worker = await env.start('worker', { ...tracingEnv(endpoint), LOG_LEVEL: 'debug' });
    try {
      const orderId = await placeOrder(api);
      expect(await settled(orderId)).toBe('CONFIRMED');
      const spans = await traceOf(orderId);

      // The saga timeline names the trace (what the console links to).
      const timeline = await env.request(api, 'GET', `/api/v1/orders/${orderId}/saga`, {
        headers: { authorization: `Bearer ${customer.token}` },
      });
      expect(timeline.body.traceId).toBe(spans[0].traceId);
      expect(timeline.body.traceUrl).toBe(`http://traces.example:16686/trace/${spans[0].traceId}`);
      // Every span of the order is in this one trace.
      expect(
        receiver.spans.filter((s) => s.attributes['order.id'] === orderId && s.traceId !== spans[0].traceId),
      ).toEqual([]);

      const request = spans.find((s) => s.kind === SPAN_KIND.server && !s.parentSpanId)!;
      expect(request.name).toMatch(/^POST/);
      // The accept statement: pg's span, under the request.
      const accept = spans.find(
        (s) =>
          s.kind === SPAN_KIND.client &&
          /INSERT INTO outbox_events/.test(
            JSON.stringify([s.attributes['db.statement'], s.attributes['db.query.text']]),
          ),
      );
      expect(accept).toBeDefined();

      // The outbox hop: publish (a child of the request's trace) → job (its child) → saga steps (children of the job).
      const publishes = byName(spans, 'publish order-processing');
      expect(publishes.length).toBeGreaterThanOrEqual(1);
      const firstJob = spans.find(
        (s) => s.name === 'process order-processing' && s.parentSpanId === publishes[0].spanId,
      )!;
      expect(firstJob.kind).toBe(SPAN_KIND.consumer);
      expect(firstJob.attributes).toMatchObject({
        'queue.name': 'order-processing',
        'job.attempt': 1,
        'order.id': orderId,
      });
      expect(ancestorsOf(spans, publishes[0])).toContain(request);
      expect(ancestorsOf(spans, accept!)).toContain(request);

      for (const step of FORWARD_STEPS) {
        const runs = byName(spans, `saga ${step}`);
        expect(runs.length).toBeGreaterThanOrEqual(1);
        for (const run of runs) {
          expect(run.attributes).toMatchObject({
            'order.id': orderId,
            'saga.step': step,
            'saga.compensation': false,
          });
          expect(parentOf(spans, run).name).toMatch(/^process (order|payment)-processing/);
        }
      }
      const verify = one(spans, 'saga verifyStock');
      expect(verify.parentSpanId).toBe(firstJob.spanId);
      expect(verify.attributes).toMatchObject({ 'queue.name': 'order-processing', 'job.attempt': 1 });
      // The gateway call, under the charge-payment job that the saga's PaymentRequested event became.
      const charge = one(spans, 'payment gateway charge');
      const chargeJob = parentOf(spans, charge);
      expect(chargeJob.name).toBe('process payment-processing');
      expect(parentOf(spans, chargeJob).name).toBe('publish payment-processing');
      expect(parentOf(spans, parentOf(spans, chargeJob)).name).toBe('saga chargePayment');
      // The notification: written by the notify step, published, sent.
      const notificationJob = one(spans, 'process notification-sending');
      expect(parentOf(spans, parentOf(spans, notificationJob)).name).toBe('saga notifyCustomer');
      // pg's spans of the saga's statements are inside it.
      expect(
        spans.some((s) => s.kind === SPAN_KIND.client && parentOf(spans, s).name.startsWith('saga ')),
      ).toBe(true);

      // Every log line of the worker about this order written inside a span names the trace and the span.
      const lines = worker
        .readLog()
        .split('\n')
        .filter((l) => l.includes(orderId))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const spanIds = new Set(spans.map((s) => s.spanId));
      const traced = lines.filter((l) => l.trace_id !== undefined);
      expect(traced.length).toBeGreaterThan(0);
      for (const line of traced) {
        expect(line.trace_id).toBe(request.traceId);
        expect(spanIds.has(line.span_id as string)).toBe(true);
      }
      expect(
        lines.filter((l) => l.msg === 'saga step completed').every((l) => l.trace_id === request.traceId),
      ).toBe(true);
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });

  it('a worker killed mid-saga: the steps its successor runs join the same trace', async () => {
    const api = await env.start('api', tracingEnv(endpoint));
    const crashing = await env.start('worker', {
      ...tracingEnv(endpoint),
      CRASH_AT: 'confirmReservation:before',
    });
    let successor: ServiceProcess | undefined;
    try {
      const orderId = await placeOrder(api);
      await crashing.waitForExit(30_000);
      successor = await env.start('worker', tracingEnv(endpoint));
      expect(await settled(orderId)).toBe('CONFIRMED');
      const spans = await traceOf(orderId);
      const resumed = spans.filter((s) => s.resource['process.pid'] === successor!.pid);

      expect(resumed.map((s) => s.name)).toEqual(
        expect.arrayContaining([
          'saga confirmReservation',
          'saga notifyCustomer',
          'process notification-sending',
        ]),
      );
      // The successor's steps continue the order's tree, never a new root: under its own job span (a stalled
      // job taken over) or, resumed by recovery, under the saga's first job span (saga_state keeps its
      // context). A parent the killed worker had not exported yet is missing from the receiver, not wrong.
      for (const step of [
        ...byName(resumed, 'saga confirmReservation'),
        ...byName(resumed, 'saga notifyCustomer'),
      ]) {
        expect(step.attributes['order.id']).toBe(orderId);
        expect(step.parentSpanId).toBeDefined();
        const parent = spans.find((s) => s.spanId === step.parentSpanId);
        expect(parent?.name ?? 'not exported').toMatch(/^process (order|payment)-processing$|^not exported$/);
      }
      // The request and whatever the killed worker exported before dying are in the same trace, never another.
      expect(spans.some((s) => s.kind === SPAN_KIND.server && s.name.startsWith('POST'))).toBe(true);
      expect(
        receiver.spans.filter((s) => s.attributes['order.id'] === orderId && s.traceId !== spans[0].traceId),
      ).toEqual([]);
    } finally {
      await Promise.all([api.stop(), crashing.kill(), successor?.stop()]);
    }
  });

  it('http/protobuf is honoured too', async () => {
    const protobuf = new OtlpReceiver();
    const url = await protobuf.start();
    const api = await env.start('api', tracingEnv(url, 'http/protobuf'));
    const worker = await env.start('worker', tracingEnv(url, 'http/protobuf'));
    try {
      const orderId = await placeOrder(api);
      await settled(orderId);
      const text = () => Buffer.concat(protobuf.protobufBodies).toString('latin1');
      await eventually(() => text().includes('saga notifyCustomer') && text().includes(orderId), {
        timeoutMs: 10_000,
        what: 'protobuf exports with the saga spans',
      });
      expect(
        protobuf.requests.every((r) => r.path === '/v1/traces' && r.contentType === 'application/x-protobuf'),
      ).toBe(true);
      expect(protobuf.spans).toEqual([]);
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
      await protobuf.stop();
    }
  });
});
