// What needs an operator: stuck sagas, dead letters, parked outbox events, the invariant checker's findings.
import { ApiError, api } from '../api.js';
import { badge, confirmAction, dateTime, field, fill, h, notify, shortId, table } from '../dom.js';

const QUEUES = ['order-processing', 'payment-processing', 'inventory-management', 'notification-sending'];
const REASONS = ['PERMANENT_FAILURE', 'ATTEMPTS_EXHAUSTED', 'STALLED'];

/** @param {HTMLElement} main @param {URLSearchParams} params */
export async function renderAttention(main, params) {
  const sagas = h('section', { class: 'card', 'aria-labelledby': 'sagas-title' });
  const letters = h('section', { class: 'card', 'aria-labelledby': 'letters-title' });
  const parked = h('section', { class: 'card', 'aria-labelledby': 'parked-title' });
  const invariants = h('section', { class: 'card', 'aria-labelledby': 'invariants-title' });
  fill(main, h('h1', null, 'Attention'), sagas, letters, parked, invariants);
  await Promise.all([
    renderSagas(sagas),
    renderDeadLetters(letters, params),
    renderParked(parked),
    renderInvariants(invariants),
  ]);
}

async function renderSagas(section) {
  const { data, meta } = await api('/admin/sagas', { query: { status: 'NEEDS_ATTENTION', limit: 50 } });
  fill(
    section,
    h('h2', { id: 'sagas-title' }, `Sagas needing attention (${meta.total})`),
    table(
      'Sagas in NEEDS_ATTENTION',
      ['Order', 'Step', 'Reason', 'Pending compensations', 'Since'],
      data.map((s) => [
        h(
          'a',
          { href: `#/orders/${s.orderId}`, 'aria-label': `Order ${s.orderId}` },
          h('code', null, shortId(s.orderId)),
        ),
        s.currentStep ?? '—',
        s.failureReason ?? '—',
        (s.pendingCompensations ?? []).join(', ') || '—',
        dateTime(s.updatedAt),
      ]),
      'none.',
    ),
  );
}

async function renderDeadLetters(section, params) {
  const queue = params.get('queue') ?? '';
  const reason = params.get('reason') ?? '';
  const status = params.get('dlStatus') ?? 'OPEN';
  const select = (name, label, options, value) =>
    field(
      label,
      h(
        'select',
        { name },
        options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
      ),
    );
  const filters = h(
    'form',
    {
      class: 'row wrap filters',
      'aria-label': 'Filter dead letters',
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        for (const [key, value] of new FormData(/** @type {HTMLFormElement} */ (event.target)).entries()) {
          if (value) {
            next.set(key, String(value));
          }
        }
        location.hash = `#/attention?${next}`;
      },
    },
    select('queue', 'Queue', [['', 'Any queue'], ...QUEUES.map((q) => [q, q])], queue),
    select('reason', 'Reason', [['', 'Any reason'], ...REASONS.map((r) => [r, r])], reason),
    select(
      'dlStatus',
      'State',
      [
        ['OPEN', 'OPEN'],
        ['REPLAYED', 'REPLAYED'],
        ['DISCARDED', 'DISCARDED'],
        ['RESOLVED', 'RESOLVED'],
        ['', 'Any'],
      ],
      status,
    ),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const error = h('p', { class: 'error', role: 'alert' });
  const { data, meta } = await api('/admin/dead-letters', { query: { queue, reason, status, limit: 50 } });
  const act = async (label, call) => {
    fill(error);
    try {
      await call();
      notify(`${label}: done.`);
      await renderDeadLetters(section, params);
    } catch (e) {
      fill(error, e instanceof ApiError ? e.message : String(e));
    }
  };
  fill(
    section,
    h('h2', { id: 'letters-title' }, `Dead letters (${meta.total})`),
    filters,
    error,
    table(
      'Dead letters, newest first',
      ['Queue', 'Job', 'Reason', 'Error', 'Attempts', 'State', 'When', 'Actions'],
      data.map((d) => [
        d.queue,
        h('span', null, d.jobName, h('br'), h('code', { class: 'muted' }, d.jobId)),
        d.failureReason,
        h('span', { class: 'clip', title: d.error }, d.error),
        String(d.attempts),
        badge(d.status),
        dateTime(d.createdAt),
        d.status === 'OPEN'
          ? h(
              'div',
              { class: 'row' },
              h(
                'button',
                {
                  type: 'button',
                  'aria-label': `Replay dead letter ${d.jobName} ${shortId(d.id)}`,
                  onclick: async () => {
                    const ok = await confirmAction({
                      title: 'Replay this job?',
                      text: `${d.jobName} goes back on ${d.queue} under a new job id.`,
                      confirm: 'Replay',
                    });
                    if (ok) {
                      await act('Replay', () =>
                        api(`/admin/dead-letters/${d.id}/replay`, { method: 'POST', body: {} }),
                      );
                    }
                  },
                },
                'Replay',
              ),
              h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  'aria-label': `Delete dead letter ${d.jobName} ${shortId(d.id)}`,
                  onclick: async () => {
                    const values = await confirmAction({
                      title: 'Discard this dead letter?',
                      text: 'It is kept as DISCARDED with an audit record; the job is not run.',
                      confirm: 'Discard',
                      fields: [
                        field('Why (kept in the audit log)', h('input', { name: 'reason', maxlength: 500 })),
                      ],
                    });
                    if (values) {
                      await act('Discard', () =>
                        api(`/admin/dead-letters/${d.id}`, {
                          method: 'DELETE',
                          query: { reason: values.reason },
                        }),
                      );
                    }
                  },
                },
                'Delete',
              ),
            )
          : '—',
      ]),
      'none.',
    ),
  );
}

async function renderParked(section) {
  const { data, meta } = await api('/admin/outbox/parked', { query: { limit: 50 } });
  const error = h('p', { class: 'error', role: 'alert' });
  fill(
    section,
    h('h2', { id: 'parked-title' }, `Parked outbox events (${meta.total})`),
    error,
    table(
      'Events the relay gave up publishing',
      ['Event', 'Aggregate', 'Attempts', 'Last error', 'Parked', 'Actions'],
      data.map((e) => [
        e.eventType,
        h('code', null, `${e.aggregateType} ${shortId(e.aggregateId)}`),
        String(e.attempts),
        h('span', { class: 'clip', title: e.lastError ?? '' }, e.lastError ?? '—'),
        dateTime(e.parkedAt),
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Replay event ${e.eventType} ${shortId(e.id)}`,
            onclick: async () => {
              const ok = await confirmAction({
                title: 'Publish this event again?',
                text: `${e.eventType} goes back to the relay.`,
                confirm: 'Replay',
              });
              if (!ok) {
                return;
              }
              try {
                await api('/admin/outbox/replay', { method: 'POST', body: { eventId: e.id } });
                notify('Event scheduled for publication.');
                await renderParked(section);
              } catch (err) {
                fill(error, err.message);
              }
            },
          },
          'Replay',
        ),
      ]),
      'none.',
    ),
  );
}

async function renderInvariants(section) {
  const run = h(
    'button',
    { type: 'button', class: 'secondary', onclick: () => void renderInvariants(section) },
    'Run the checks again',
  );
  fill(section, h('h2', { id: 'invariants-title' }, 'Invariants'), h('p', null, 'Checking…'));
  const report = await api('/admin/invariants');
  const failing = report.checks.filter((c) => c.count > 0);
  fill(
    section,
    h('h2', { id: 'invariants-title' }, 'Invariants'),
    h(
      'p',
      null,
      badge(report.ok ? 'OK' : 'VIOLATED'),
      ` ${report.violations} violation(s), ${report.attention} row(s) for attention · ${report.checks.length} checks in ${Math.round(report.durationMs)} ms · ${dateTime(report.checkedAt)} `,
      run,
    ),
    failing.length === 0
      ? h('p', { class: 'muted' }, 'Every check holds.')
      : failing.map((c) => {
          const columns = [...new Set(c.rows.flatMap((r) => Object.keys(r)))];
          return h(
            'details',
            { class: `check ${c.severity}`, open: c.severity === 'violation' },
            h('summary', null, badge(c.severity.toUpperCase()), ` ${c.name}: ${c.count} — ${c.description}`),
            table(
              `Offending rows of ${c.name}`,
              columns,
              c.rows.map((r) => columns.map((k) => cell(r[k]))),
            ),
          );
        }),
  );
}

function cell(value) {
  if (value === null || value === undefined) {
    return '—';
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
