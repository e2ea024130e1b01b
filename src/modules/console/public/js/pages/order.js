// One order: summary, actions, the saga drawn as a timeline, status history (live over SSE), lines,
// payments and notifications.
import { ApiError, api, stream } from '../api.js';
import { badge, confirmAction, dateTime, field, fill, h, money, notify, table } from '../dom.js';

const CANCELLABLE = ['PENDING', 'PROCESSING', 'PAYMENT_PENDING', 'CONFIRMED'];
const REFUNDABLE = ['CONFIRMED', 'SHIPPED', 'DELIVERED'];
const SAGA_FINISHED = ['COMPLETED', 'COMPENSATED'];
const SAGA_EVERY_MS = 2000;

/** @param {HTMLElement} main @param {string} id @param {AbortSignal} signal */
export async function renderOrder(main, id, signal) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) {
    fill(main, h('h1', null, 'Order'), h('p', { class: 'error', role: 'alert' }, 'That is not an order id.'));
    return;
  }
  const order = await api(`/orders/${id}`);
  const summary = h('section', { class: 'card', 'aria-labelledby': 'order-title' });
  const actions = h('section', { class: 'card', 'aria-labelledby': 'actions-title' });
  const saga = h('section', { class: 'card', 'aria-labelledby': 'saga-title' });
  const history = h('section', { class: 'card', 'aria-labelledby': 'history-title' });
  const lines = h('section', { class: 'card', 'aria-labelledby': 'lines-title' });
  const payments = h('section', { class: 'card', 'aria-labelledby': 'payments-title' });
  const notifications = h('section', { class: 'card', 'aria-labelledby': 'notifications-title' });
  fill(
    main,
    h('p', null, h('a', { href: '#/orders' }, '← Orders')),
    summary,
    h('div', { class: 'columns' }, h('div', null, actions, history), h('div', null, saga)),
    lines,
    payments,
    notifications,
  );

  /** @type {any[]} */
  const changes = [];
  let state = order;
  const renderSummary = () => {
    fill(
      summary,
      h('h1', { id: 'order-title' }, 'Order ', h('code', null, state.id)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'Status'),
        h('dd', { id: 'order-status', 'aria-live': 'polite' }, badge(state.status)),
        h('dt', null, 'Total'),
        h('dd', null, money(state.totalAmount, state.currency)),
        h('dt', null, 'Payment'),
        h('dd', null, state.paymentMethod),
        h('dt', null, 'Placed'),
        h('dd', null, dateTime(state.createdAt)),
        h('dt', null, 'Updated'),
        h('dd', null, dateTime(state.updatedAt)),
        h('dt', null, 'Customer'),
        h('dd', null, h('code', null, state.userId)),
        state.trackingNumber ? [h('dt', null, 'Tracking'), h('dd', null, state.trackingNumber)] : null,
        state.failureReason ? [h('dt', null, 'Reason'), h('dd', null, state.failureReason)] : null,
      ),
    );
  };
  const renderHistory = () =>
    fill(
      history,
      h('h2', { id: 'history-title' }, 'Status history'),
      h(
        'ol',
        { class: 'history' },
        changes.map((c) =>
          h(
            'li',
            null,
            badge(c.status),
            ' ',
            h('span', { class: 'muted' }, dateTime(c.at)),
            c.reason ? ` — ${c.reason}` : '',
          ),
        ),
      ),
    );

  let sagaStatus = 'RUNNING';
  const reloadDetails = async () => {
    const [fresh, timeline, pays, notes] = await Promise.all([
      api(`/orders/${id}`),
      api(`/orders/${id}/saga`),
      api(`/orders/${id}/payments`),
      api(`/orders/${id}/notifications`),
    ]);
    state = fresh;
    renderSummary();
    renderActions(actions, state, reloadDetails);
    renderSaga(saga, timeline);
    sagaStatus = timeline.status;
    renderPayments(payments, pays);
    renderNotifications(notifications, notes);
  };

  renderSummary();
  fill(lines, h('h2', { id: 'lines-title' }, 'Lines'), linesTable(order));
  changes.push(...(await api(`/orders/${id}/history`)));
  renderHistory();
  await reloadDetails();

  // Steps run between status changes too (reserve, retries, compensations): while the saga is unfinished its
  // timeline is re-read every 2 s.
  const sagaTimer = setInterval(() => {
    if (SAGA_FINISHED.includes(sagaStatus)) {
      return;
    }
    void api(`/orders/${id}/saga`)
      .then((timeline) => {
        sagaStatus = timeline.status;
        renderSaga(saga, timeline);
      })
      .catch(() => undefined);
  }, SAGA_EVERY_MS);
  signal.addEventListener('abort', () => clearInterval(sagaTimer));

  // Live: every status change arrives over the order's event stream; the rest is re-read when one does.
  let pending = 0;
  void stream(
    `/orders/${id}/events`,
    (type, event) => {
      if (type !== 'status' || changes.some((c) => c.id === event.id)) {
        return;
      }
      changes.push({
        id: event.id,
        from: event.from,
        status: event.status,
        reason: event.reason,
        at: event.at,
      });
      state = { ...state, status: event.status };
      renderSummary();
      renderHistory();
      clearTimeout(pending);
      pending = window.setTimeout(() => void reloadDetails().catch(() => undefined), 300);
    },
    signal,
  ).catch((error) => notify(`Live updates stopped: ${error.message}`, 'error'));
}

function linesTable(order) {
  return table(
    'Order lines',
    ['SKU', 'Product', 'Unit price', 'Qty', 'Line total'],
    order.items.map((i) => [
      i.sku,
      i.name,
      money(i.unitPrice, order.currency),
      String(i.quantity),
      money(i.lineTotal, order.currency),
    ]),
    'no lines.',
  );
}

function renderActions(section, order, reload) {
  const error = h('p', { class: 'error', role: 'alert', id: 'action-error' });
  const run = async (label, call) => {
    fill(error);
    try {
      await call();
      notify(`${label}: done.`);
      await reload();
    } catch (e) {
      fill(error, e instanceof ApiError ? e.message : `${label} failed: ${e.message}`);
    }
  };
  const status = order.status;
  const button = (label, enabled, onclick, why) =>
    h('button', { type: 'button', disabled: !enabled, onclick, title: enabled ? undefined : why }, label);
  fill(
    section,
    h('h2', { id: 'actions-title' }, 'Actions'),
    h(
      'div',
      { class: 'row wrap' },
      button(
        'Cancel order',
        CANCELLABLE.includes(status),
        async () => {
          const ok = await confirmAction({
            title: 'Cancel this order?',
            text: 'Compensation runs: the reservation is released, a payment refunded and stock put back.',
            confirm: 'Cancel order',
          });
          if (ok) {
            await run('Cancel', () => api(`/orders/${order.id}/cancel`, { method: 'POST' }));
          }
        },
        'Only before shipping',
      ),
      button(
        'Ship…',
        status === 'CONFIRMED',
        async () => {
          const values = await confirmAction({
            title: 'Ship this order?',
            text: 'The customer is told the tracking number.',
            confirm: 'Ship',
            fields: [
              field(
                'Tracking number',
                h('input', { name: 'trackingNumber', required: true, maxlength: 100, autocomplete: 'off' }),
              ),
            ],
          });
          if (values) {
            await run('Ship', () =>
              api(`/orders/${order.id}/ship`, {
                method: 'POST',
                body: { trackingNumber: values.trackingNumber },
              }),
            );
          }
        },
        'Only a confirmed order ships',
      ),
      button(
        'Mark delivered',
        status === 'SHIPPED',
        async () => {
          const ok = await confirmAction({
            title: 'Mark as delivered?',
            text: 'The order becomes DELIVERED.',
            confirm: 'Mark delivered',
          });
          if (ok) {
            await run('Deliver', () => api(`/orders/${order.id}/deliver`, { method: 'POST' }));
          }
        },
        'Only a shipped order is delivered',
      ),
      button(
        'Refund…',
        REFUNDABLE.includes(status),
        async () => {
          const values = await confirmAction({
            title: 'Refund this order?',
            text: `Money goes back through the gateway. Leave the amount empty to refund everything left (total ${money(order.totalAmount, order.currency)}).`,
            confirm: 'Refund',
            fields: [
              field(
                'Amount',
                h('input', {
                  name: 'amount',
                  inputmode: 'decimal',
                  pattern: '\\d+(\\.\\d{1,2})?',
                  autocomplete: 'off',
                }),
                'e.g. 12.50',
              ),
            ],
          });
          if (values) {
            const body = values.amount ? { amount: values.amount } : {};
            await run('Refund', () => api(`/orders/${order.id}/refund`, { method: 'POST', body }));
          }
        },
        'Only a confirmed, shipped or delivered order is refunded',
      ),
    ),
    error,
  );
}

/** The saga as a timeline: one row per step run, a bar placed on a common time axis, compensations marked. */
function renderSaga(section, timeline) {
  const steps = timeline.steps ?? [];
  const start = steps.length ? Math.min(...steps.map((s) => Date.parse(s.startedAt))) : 0;
  const end = steps.length ? Math.max(...steps.map((s) => Date.parse(s.startedAt) + s.durationMs)) : 0;
  const span = Math.max(end - start, 1);
  fill(
    section,
    h('h2', { id: 'saga-title' }, 'Saga timeline'),
    h(
      'p',
      null,
      badge(timeline.status),
      timeline.currentStep ? ` at ${timeline.currentStep}` : '',
      timeline.failureReason ? ` — ${timeline.failureReason}` : '',
      steps.length
        ? h('span', { class: 'muted' }, ` · ${steps.length} runs over ${formatMs(end - start)}`)
        : '',
    ),
    timeline.traceId
      ? h(
          'p',
          { class: 'muted' },
          'Trace ',
          timeline.traceUrl
            ? h(
                'a',
                { href: timeline.traceUrl, rel: 'noopener noreferrer', target: '_blank' },
                h('code', null, timeline.traceId),
              )
            : h('code', null, timeline.traceId),
        )
      : null,
    timeline.compensation
      ? h(
          'p',
          { class: 'comp' },
          `Compensation: ${timeline.compensation.reason} → ${timeline.compensation.finalStatus}`,
          timeline.compensation.pending.length
            ? `; pending: ${timeline.compensation.pending.join(', ')}`
            : '',
        )
      : null,
    steps.length === 0
      ? h('p', { class: 'muted' }, 'No step has run yet.')
      : h(
          'ol',
          { class: 'timeline', 'aria-label': 'Saga steps in order' },
          steps.map((s) => {
            const bar = h('span', { class: 'bar' });
            // CSSOM, not a style attribute: the console's CSP allows no inline styles.
            bar.style.marginLeft = `${((Date.parse(s.startedAt) - start) / span) * 100}%`;
            bar.style.width = `max(3px, ${(s.durationMs / span) * 100}%)`;
            return h(
              'li',
              { class: `step o-${s.outcome} ${s.phase === 'compensation' ? 'compensation' : ''}` },
              h(
                'div',
                { class: 'step-head' },
                h('strong', null, s.phase === 'compensation' ? `↩ undo ${s.step}` : s.step),
                h('span', { class: `outcome o-${s.outcome}` }, s.outcome),
                h(
                  'span',
                  { class: 'muted' },
                  `attempt ${s.attempt} · ${formatMs(s.durationMs)} · +${formatMs(Date.parse(s.startedAt) - start)}`,
                ),
              ),
              h('div', { class: 'track', 'aria-hidden': 'true' }, bar),
              s.detail ? h('p', { class: 'detail' }, s.detail) : null,
            );
          }),
        ),
  );
}

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function renderPayments(section, rows) {
  fill(
    section,
    h('h2', { id: 'payments-title' }, 'Payments'),
    table(
      'Charges and refunds',
      ['Kind', 'Status', 'Amount', 'Method', 'Reference', 'Failure', 'When'],
      rows.map((p) => [
        p.kind,
        badge(p.status),
        money(p.amount, p.currency),
        p.method,
        h('span', { class: 'clip', title: p.providerReference ?? '' }, p.providerReference ?? '—'),
        p.failureCode ? `${p.failureCode}: ${p.failureMessage ?? ''}` : '—',
        dateTime(p.createdAt),
      ]),
      'no payment yet.',
    ),
  );
}

function renderNotifications(section, rows) {
  fill(
    section,
    h('h2', { id: 'notifications-title' }, 'Notifications'),
    table(
      'Messages about this order',
      ['Template', 'Channel', 'Status', 'To', 'Attempts', 'Sent', 'Error'],
      rows.map((n) => [
        n.template,
        n.channel,
        badge(n.status),
        n.recipient,
        String(n.attempts),
        dateTime(n.sentAt),
        n.lastError ?? '—',
      ]),
      'none sent.',
    ),
  );
}
