// Health: readiness, queue depths, the payment circuit breaker, the outbox backlog, everything else detailed.
import { api } from '../api.js';
import { badge, fill, h, table } from '../dom.js';

const EVERY_MS = 5000;
const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused', 'prioritized'];

/** @param {HTMLElement} main @param {URLSearchParams} _params @param {AbortSignal} signal */
export async function renderHealth(main, _params, signal) {
  const body = h('div');
  fill(main, h('h1', null, 'Health'), body);
  const refresh = async () => {
    const [ready, detailed] = await Promise.all([api('/health/ready'), api('/health/detailed')]);
    draw(body, ready, detailed);
  };
  await refresh();
  const timer = setInterval(() => void refresh().catch(() => undefined), EVERY_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
}

function draw(body, ready, detailed) {
  const info = { ...(detailed.info ?? {}), ...(detailed.error ?? {}) };
  const queues = Object.entries(info).filter(([name]) => name.startsWith('queue:'));
  const breaker = info.paymentGateway;
  const outbox = info.outbox;
  const others = Object.entries(info).filter(
    ([name]) => !name.startsWith('queue:') && !['paymentGateway', 'outbox'].includes(name),
  );
  const up = (entry) => (entry?.status === 'up' ? (entry.degraded ? 'DEGRADED' : 'UP') : 'DOWN');
  fill(
    body,
    h(
      'div',
      { class: 'tiles' },
      tile(
        'Readiness',
        badge(ready.status === 'ok' ? 'READY' : 'NOT_READY'),
        Object.keys(ready.error ?? {}).join(', ') || 'PostgreSQL, Redis and queues reachable',
      ),
      tile(
        'Payment circuit breaker',
        badge(breaker ? String(breaker.breaker ?? up(breaker)).toUpperCase() : 'UNKNOWN'),
        breaker ? 'closed = calls flow; open = gateway considered down' : 'not reported by this process',
      ),
      tile(
        'Outbox lag',
        badge(outbox ? up(outbox) : 'UNKNOWN'),
        outbox
          ? `${outbox.pending ?? 0} pending, oldest ${Math.round(outbox.oldestPendingAgeSeconds ?? 0)} s, ${outbox.parked ?? 0} parked`
          : '—',
      ),
      tile(
        'Overall',
        badge(detailed.status === 'ok' ? 'OK' : 'ERROR'),
        `checked ${new Date().toLocaleTimeString()}`,
      ),
    ),
    h('h2', null, 'Queue depths'),
    table(
      'Jobs per state in each queue',
      ['Queue', 'State', ...STATES],
      queues.map(([name, q]) => [
        name.slice('queue:'.length),
        badge(up(q)),
        ...STATES.map((s) => String(q[s] ?? '—')),
      ]),
      'no queue reported.',
    ),
    h('h2', null, 'Other checks'),
    table(
      'Every other indicator',
      ['Check', 'State', 'Details'],
      others.map(([name, v]) => [name, badge(up(v)), details(v)]),
    ),
  );
}

function tile(title, value, note) {
  return h(
    'section',
    { class: 'tile card' },
    h('h2', null, title),
    h('p', { class: 'big' }, value),
    h('p', { class: 'muted' }, note),
  );
}

function details(value) {
  const { status: _status, ...rest } = value ?? {};
  return Object.entries(rest)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}
