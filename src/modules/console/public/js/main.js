// The console's shell: session, navigation and the hash router (#/orders, #/orders/<id>, #/attention, ...).
import { currentUser, login, logout, refresh } from './api.js';
import { field, fill, h, input, notify } from './dom.js';
import { renderAttention } from './pages/attention.js';
import { renderHealth } from './pages/health.js';
import { renderOrder } from './pages/order.js';
import { renderOrders } from './pages/orders.js';
import { renderStock } from './pages/stock.js';

const SECTIONS = [
  { path: 'orders', label: 'Orders', render: renderOrders },
  { path: 'attention', label: 'Attention', render: renderAttention },
  { path: 'stock', label: 'Stock', render: renderStock },
  { path: 'health', label: 'Health', render: renderHealth },
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));
/** @type {AbortController | undefined} */
let current;

function showLogin(message) {
  current?.abort();
  nav.hidden = true;
  fill(who);
  document.title = 'Sign in · Order console';
  const email = input({ type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = input({
    type: 'password',
    name: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    {
      class: 'card login',
      onsubmit: async (event) => {
        event.preventDefault();
        fill(error);
        try {
          await login(email.value, password.value);
          if (!location.hash || location.hash === '#/login') {
            location.hash = '#/orders';
          }
          start();
        } catch (e) {
          fill(error, e.message);
        }
      },
    },
    h('h1', null, 'Sign in'),
    h('p', { class: 'muted' }, 'The operator console is for admins.'),
    field('Email', email),
    field('Password', password),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  fill(main, form);
  email.focus();
}

function start() {
  const user = currentUser();
  if (!user) {
    showLogin();
    return;
  }
  nav.hidden = false;
  fill(
    who,
    h('span', { class: 'muted' }, user.email),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: async () => {
          await logout();
          showLogin('Signed out.');
        },
      },
      'Sign out',
    ),
  );
  route(false);
}

/** @param {boolean} [moveFocus] a navigation inside the console moves focus to the new content; a page load does not */
function route(moveFocus = true) {
  if (!currentUser()) {
    return;
  }
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [section, id] = path.split('/');
  const page = SECTIONS.find((s) => s.path === section) ?? SECTIONS[0];
  fill(
    nav,
    SECTIONS.map((s) =>
      h('a', { href: `#/${s.path}`, 'aria-current': s === page ? 'page' : undefined }, s.label),
    ),
  );
  current?.abort();
  current = new AbortController();
  notify('');
  const params = new URLSearchParams(query);
  const render =
    page.path === 'orders' && id
      ? () => renderOrder(main, id, current.signal)
      : () => page.render(main, params, current.signal);
  document.title = `${page.label} · Order console`;
  fill(main, h('p', null, 'Loading…'));
  render().catch((error) => fill(main, h('p', { class: 'error', role: 'alert' }, error.message)));
  if (moveFocus) {
    main.focus({ preventScroll: true });
  }
}

window.addEventListener('hashchange', () => route());
window.addEventListener('console:signed-out', () => showLogin('Your session ended; sign in again.'));

// A reload keeps the session through the refresh cookie; without one, the sign-in form.
void refresh().then(start);
