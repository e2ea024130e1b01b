// Orders: live counts per status, a search form and a paginated list. Filters live in the URL's hash query.
import { api } from '../api.js';
import { badge, dateTime, field, fill, h, money, shortId, table } from '../dom.js';

const STATUSES = [
  'PENDING',
  'PROCESSING',
  'PAYMENT_PENDING',
  'CONFIRMED',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
  'PAYMENT_FAILED',
  'REFUNDED',
];
const COUNTS_EVERY_MS = 3000;
const FILTERS = ['id', 'email', 'status', 'fromDate', 'toDate', 'minAmount', 'maxAmount'];

/** @param {HTMLElement} main @param {URLSearchParams} params @param {AbortSignal} signal */
export async function renderOrders(main, params, signal) {
  const counts = h('ul', { class: 'counts', 'aria-label': 'Orders per status' });
  const results = h('section', { 'aria-labelledby': 'results-title' });
  const form = searchForm(params);
  fill(
    main,
    h('h1', null, 'Orders'),
    h(
      'section',
      { 'aria-labelledby': 'counts-title' },
      h('h2', { id: 'counts-title', class: 'sr-only' }, 'Counts'),
      counts,
    ),
    form,
    results,
  );

  const refreshCounts = async () => {
    try {
      const { counts: byStatus, total } = await api('/orders/counts');
      fill(
        counts,
        h(
          'li',
          null,
          h(
            'a',
            { href: '#/orders', class: 'count' },
            h('span', null, 'All'),
            h('strong', null, String(total)),
          ),
        ),
        STATUSES.map((status) =>
          h(
            'li',
            null,
            h(
              'a',
              {
                href: `#/orders?status=${status}`,
                class: `count s-${status.toLowerCase()}`,
                'data-status': status,
              },
              h('span', null, status.replace('_', ' ')),
              h('strong', null, String(byStatus[status] ?? 0)),
            ),
          ),
        ),
      );
    } catch {
      // the next tick tries again
    }
  };
  await refreshCounts();
  const timer = setInterval(() => void refreshCounts(), COUNTS_EVERY_MS);
  signal.addEventListener('abort', () => clearInterval(timer));

  await renderResults(results, params);
}

function searchForm(params) {
  const input = (name, attrs) => h('input', { name, value: params.get(name) ?? '', ...attrs });
  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s)),
  );
  return h(
    'form',
    {
      class: 'card search',
      role: 'search',
      'aria-label': 'Search orders',
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        for (const [key, value] of new FormData(/** @type {HTMLFormElement} */ (event.target)).entries()) {
          if (String(value).trim()) {
            next.set(key, String(value).trim());
          }
        }
        location.hash = `#/orders?${next}`;
      },
    },
    h(
      'div',
      { class: 'grid' },
      field('Order id', input('id', { inputmode: 'text', autocomplete: 'off', spellcheck: 'false' })),
      field('Customer email', input('email', { type: 'search', autocomplete: 'off' })),
      field('Status', status),
      field('Placed from', input('fromDate', { type: 'date' })),
      field('Placed to', input('toDate', { type: 'date' })),
      field('Min amount', input('minAmount', { inputmode: 'decimal', pattern: '\\d+(\\.\\d{1,2})?' })),
      field('Max amount', input('maxAmount', { inputmode: 'decimal', pattern: '\\d+(\\.\\d{1,2})?' })),
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit' }, 'Search'),
      h('a', { href: '#/orders', class: 'button secondary' }, 'Clear'),
    ),
  );
}

async function renderResults(section, params) {
  const page = Number(params.get('page') ?? '1') || 1;
  const from = params.get('fromDate');
  const to = params.get('toDate');
  const id = params.get('id')?.trim();
  if (id && !/^[0-9a-f-]{36}$/i.test(id)) {
    fill(
      section,
      h('p', { class: 'error', role: 'alert' }, 'An order id is a UUID such as 3f2b…-…; paste it whole.'),
    );
    return;
  }
  const { data, meta } = await api('/orders', {
    query: {
      page,
      limit: 20,
      id,
      email: params.get('email'),
      status: params.get('status'),
      // Whole days in the operator's time zone.
      from: from ? new Date(`${from}T00:00:00`).toISOString() : undefined,
      to: to ? new Date(new Date(`${to}T00:00:00`).getTime() + 86_400_000).toISOString() : undefined,
      minAmount: params.get('minAmount'),
      maxAmount: params.get('maxAmount'),
    },
  });
  const filtered = FILTERS.some((key) => params.get(key));
  const link = (p) => {
    const next = new URLSearchParams(params);
    next.set('page', String(p));
    return `#/orders?${next}`;
  };
  fill(
    section,
    h(
      'h2',
      { id: 'results-title' },
      filtered ? `Matching orders (${meta.total})` : `Latest orders (${meta.total})`,
    ),
    table(
      'Orders, newest first',
      ['Order', 'Customer', 'Status', 'Total', 'Placed'],
      data.map((o) => [
        h('a', { href: `#/orders/${o.id}`, 'aria-label': `Order ${o.id}` }, h('code', null, shortId(o.id))),
        o.customerEmail,
        badge(o.status),
        money(o.totalAmount, o.currency),
        dateTime(o.createdAt),
      ]),
      'no orders match.',
    ),
    meta.totalPages > 1
      ? h(
          'nav',
          { class: 'pager', 'aria-label': 'Pages' },
          page > 1 ? h('a', { href: link(page - 1), rel: 'prev' }, '← Newer') : null,
          h('span', null, `Page ${meta.page} of ${meta.totalPages}`),
          page < meta.totalPages ? h('a', { href: link(page + 1), rel: 'next' }, 'Older →') : null,
        )
      : null,
  );
}
