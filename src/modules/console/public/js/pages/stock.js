// Stock: low-stock items first (or everything), and replenishment with confirmation.
import { ApiError, api } from '../api.js';
import { badge, confirmAction, dateTime, field, fill, h, input, notify, table } from '../dom.js';

/** @param {HTMLElement} main @param {URLSearchParams} params */
export async function renderStock(main, params) {
  const all = params.get('all') === '1';
  const page = Number(params.get('page') ?? '1') || 1;
  const { data, meta } = await api('/inventory', {
    query: { lowStock: all ? undefined : 'true', page, limit: 50 },
  });
  const error = h('p', { class: 'error', role: 'alert' });
  fill(
    main,
    h('h1', null, 'Stock'),
    h(
      'p',
      { class: 'row' },
      all
        ? h('a', { href: '#/stock' }, 'Show low stock only')
        : h('a', { href: '#/stock?all=1' }, 'Show every product'),
      h(
        'span',
        { class: 'muted' },
        `${meta.total} ${all ? 'products' : 'at or below their threshold'}, lowest availability first`,
      ),
    ),
    error,
    table(
      all ? 'Stock levels' : 'Low stock',
      ['SKU', 'Product', 'On hand', 'Reserved', 'Available', 'Threshold', 'Updated', 'Replenish'],
      data.map((item) => [
        item.sku,
        item.name,
        String(item.quantity),
        String(item.reservedQuantity),
        h('span', null, String(item.availableQuantity), ' ', item.lowStock ? badge('LOW') : null),
        String(item.lowStockThreshold),
        dateTime(item.updatedAt),
        replenishForm(item, error, () => renderStock(main, params)),
      ]),
      all ? 'no products.' : 'nothing is low.',
    ),
    meta.totalPages > 1
      ? h(
          'nav',
          { class: 'pager', 'aria-label': 'Pages' },
          page > 1 ? h('a', { href: `#/stock?${all ? 'all=1&' : ''}page=${page - 1}` }, '← Previous') : null,
          h('span', null, `Page ${meta.page} of ${meta.totalPages}`),
          page < meta.totalPages
            ? h('a', { href: `#/stock?${all ? 'all=1&' : ''}page=${page + 1}` }, 'Next →')
            : null,
        )
      : null,
  );
}

function replenishForm(item, error, reload) {
  const quantity = input({
    type: 'number',
    name: 'quantity',
    min: 1,
    max: 1000000,
    step: 1,
    required: true,
    class: 'qty',
  });
  return h(
    'form',
    {
      class: 'row inline',
      'aria-label': `Replenish ${item.sku}`,
      onsubmit: async (event) => {
        event.preventDefault();
        const amount = Number(quantity.value);
        const values = await confirmAction({
          title: `Add ${amount} × ${item.sku}?`,
          text: `${item.name}: ${item.quantity} on hand becomes ${item.quantity + amount}.`,
          confirm: 'Replenish',
          fields: [field('Reason (optional)', h('input', { name: 'reason', maxlength: 200 }))],
        });
        if (!values) {
          return;
        }
        fill(error);
        try {
          await api(`/inventory/${item.productId}/replenish`, {
            method: 'POST',
            body: values.reason ? { quantity: amount, reason: values.reason } : { quantity: amount },
          });
          notify(`${item.sku} replenished by ${amount}.`);
          await reload();
        } catch (e) {
          fill(error, e instanceof ApiError ? e.message : String(e));
        }
      },
    },
    field(`Quantity for ${item.sku}`, quantity),
    h('button', { type: 'submit' }, 'Add'),
  );
}
