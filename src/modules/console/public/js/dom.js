// Tiny DOM helpers. The console never writes HTML strings (Trusted Types would refuse them): every node is
// made with createElement and text goes in through text nodes.

/**
 * h('button', { class: 'x', onclick: fn, 'aria-label': 'Close' }, 'text', child, [more])
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (key === 'class') {
      el.className = String(value);
    } else if (key === 'value' && 'value' in el) {
      /** @type {HTMLInputElement} */ (el).value = String(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * An <input> typed as one (its `value` is there for the type checker).
 * @param {Record<string, unknown>} attrs
 * @returns {HTMLInputElement}
 */
export function input(attrs) {
  return /** @type {HTMLInputElement} */ (h('input', attrs));
}

/** @param {Element} el @param {unknown[]} children */
function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. @param {Element} el @param {...unknown} children */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A labelled form control: the label names the control for screen readers and tests. */
export function field(label, control, hint) {
  const id = control.id || `f${++ids}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) {
    control.setAttribute('aria-describedby', hintId);
  }
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('small', { id: hintId }, hint) : null,
  );
}

/** @param {string} status */
export function badge(status) {
  return h('span', { class: `badge s-${String(status).toLowerCase()}` }, status);
}

export function dateTime(value) {
  if (!value) {
    return '—';
  }
  const d = new Date(value);
  return Number.isNaN(d.getTime())
    ? String(value)
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function money(amount, currency) {
  if (amount === null || amount === undefined) {
    return '—';
  }
  return `${amount} ${currency ?? ''}`.trim();
}

export const shortId = (id) => String(id).slice(0, 8);

/**
 * A table with a caption and column headers; `rows` are arrays of cells (text or nodes).
 * @param {string} caption @param {string[]} headers @param {unknown[][]} rows @param {string} [empty]
 */
export function table(caption, headers, rows, empty = 'Nothing here.') {
  if (rows.length === 0) {
    return h('div', { class: 'table' }, h('p', { class: 'muted' }, `${caption}: ${empty}`));
  }
  return h(
    'div',
    { class: 'table' },
    h(
      'table',
      null,
      h('caption', null, caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          headers.map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((cells) =>
          h(
            'tr',
            null,
            cells.map((c, i) => h('td', { 'data-label': headers[i] }, c)),
          ),
        ),
      ),
    ),
  );
}

/** Shows a message in the polite live region (and in red when it is an error). */
export function notify(message, kind = 'info') {
  const box = document.getElementById('notice');
  if (!box) {
    return;
  }
  fill(box, message ? h('p', { class: kind }, message) : null);
}

/**
 * Asks before an action, with optional extra inputs (a tracking number, an amount): resolves to the form's
 * values, or undefined when cancelled. The native <dialog> traps focus and closes on Escape.
 * @param {{ title: string, text: string, confirm: string, fields?: HTMLElement[] }} options
 * @returns {Promise<Record<string, string> | undefined>}
 */
export function confirmAction({ title, text, confirm, fields = [] }) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('confirm'));
  const form = /** @type {HTMLFormElement} */ (document.getElementById('confirm-form'));
  fill(document.getElementById('confirm-title'), title);
  fill(document.getElementById('confirm-text'), text);
  fill(document.getElementById('confirm-fields'), fields);
  fill(document.getElementById('confirm-ok'), confirm);
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue !== 'ok') {
          resolve(undefined);
          return;
        }
        /** @type {Record<string, string>} */
        const values = {};
        for (const [key, value] of new FormData(form).entries()) {
          values[key] = String(value);
        }
        resolve(values);
      },
      { once: true },
    );
    dialog.returnValue = '';
    dialog.showModal();
    const first = dialog.querySelector('#confirm-fields input') ?? dialog.querySelector('#confirm-ok');
    /** @type {HTMLElement} */ (first)?.focus();
  });
}
