// The console's only way to the API. The access token lives in this module's memory, never in storage; the
// refresh token is an HttpOnly cookie the page cannot read, sent only to /api/v1/auth/console.

const API = '/api/v1';
const SESSION = `${API}/auth/console`;
const MARKER = { 'x-aop-console': '1' };

/** @type {{ accessToken: string, user: { email: string, role: string }, expiresAt: number } | null} */
let session = null;
let refreshTimer = 0;
/** @type {Promise<boolean> | null} */
let refreshing = null;

/** An API error: the problem document's `detail` (never a stack), its status and code. */
export class ApiError extends Error {
  constructor(status, detail, problem) {
    super(detail);
    this.status = status;
    this.problem = problem;
  }
}

export const currentUser = () => session?.user;

function remember(body) {
  session = { accessToken: body.accessToken, user: body.user, expiresAt: Date.now() + body.expiresIn * 1000 };
  clearTimeout(refreshTimer);
  // A little before the access token expires, get the next one.
  refreshTimer = window.setTimeout(() => void refresh(), Math.max(5_000, body.expiresIn * 800));
}

async function problemOf(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    // not JSON: the status line is all there is
  }
  const detail =
    typeof problem.detail === 'string' && problem.detail
      ? problem.detail
      : problem.title || `The server answered ${response.status}.`;
  return new ApiError(response.status, detail, problem);
}

export async function login(email, password) {
  const response = await fetch(`${SESSION}/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...MARKER },
    body: JSON.stringify({ email, password }),
    credentials: 'same-origin',
  });
  if (!response.ok) {
    throw await problemOf(response);
  }
  remember(await response.json());
}

/** A new access token from the refresh cookie; false when there is no session to continue. */
export function refresh() {
  refreshing ??= (async () => {
    try {
      const response = await fetch(`${SESSION}/refresh`, {
        method: 'POST',
        headers: MARKER,
        credentials: 'same-origin',
      });
      if (!response.ok) {
        session = null;
        return false;
      }
      remember(await response.json());
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function logout() {
  clearTimeout(refreshTimer);
  session = null;
  await fetch(`${SESSION}/session`, { method: 'DELETE', headers: MARKER, credentials: 'same-origin' }).catch(
    () => undefined,
  );
}

/**
 * Calls the API with the Bearer token; a 401 gets one refresh and one retry. Resolves to the JSON body
 * (undefined for 204), rejects with an ApiError carrying the problem's detail.
 * @param {string} path  under /api/v1, or absolute from the origin when it starts with /health
 * @param {{ method?: string, body?: unknown, query?: Record<string, unknown> }} [options]
 */
export async function api(path, { method = 'GET', body, query } = {}) {
  const url = new URL(`${API}${path}`, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') {
      url.searchParams.set(key, String(value));
    }
  }
  const send = () =>
    fetch(url, {
      method,
      headers: {
        ...(session ? { authorization: `Bearer ${session.accessToken}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let response = await send();
  if (response.status === 401 && (await refresh())) {
    response = await send();
  }
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent('console:signed-out'));
  }
  // Health answers 503 with its usual body: that is data, not an error.
  if (!response.ok && !(response.status === 503 && path.startsWith('/health'))) {
    throw await problemOf(response);
  }
  return response.status === 204 ? undefined : response.json();
}

/**
 * Server-Sent Events with the Bearer header (EventSource cannot send one): reads the stream with fetch,
 * resumes with Last-Event-ID after a drop, stops when the server ends the stream or `signal` aborts.
 * @param {string} path @param {(type: string, data: any) => void} onEvent @param {AbortSignal} signal
 */
export async function stream(path, onEvent, signal) {
  let lastId = '';
  while (!signal.aborted) {
    try {
      const response = await fetch(`${API}${path}`, {
        headers: {
          accept: 'text/event-stream',
          ...(session ? { authorization: `Bearer ${session.accessToken}` } : {}),
          ...(lastId ? { 'last-event-id': lastId } : {}),
        },
        signal,
      });
      if (response.status === 401 && (await refresh())) {
        continue;
      }
      if (!response.ok || !response.body) {
        throw await problemOf(response);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = 'message';
          let data = '';
          for (const line of frame.split('\n')) {
            if (line.startsWith('id:')) {
              lastId = line.slice(3).trim();
            } else if (line.startsWith('event:')) {
              type = line.slice(6).trim();
            } else if (line.startsWith('data:')) {
              data += line.slice(5).trim();
            }
          }
          if (data) {
            onEvent(type, JSON.parse(data));
          }
          if (type === 'end') {
            return;
          }
        }
      }
    } catch (error) {
      if (signal.aborted) {
        return;
      }
      if (error instanceof ApiError && error.status < 500) {
        throw error;
      }
    }
    // Dropped: wait like the server's `retry: 2000` asks, then resume after the last event seen.
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
