/**
 * Errors that say a dependency (PostgreSQL, PgBouncer, Redis) cannot be reached right now, not that
 * the request or the job is wrong: the API answers them with a fast 503, and the workers put the job
 * back without spending one of its attempts (an outage must not exhaust retries).
 */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  // too many connections
  '53300',
]);

const CONNECTION_ERROR_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest/i;

export function isDependencyUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string; driverError?: { code?: string } } | null;
  const code = e?.driverError?.code ?? e?.code;
  // SQLSTATE class 08 (connection exception): also what PgBouncer answers while its server is gone or
  // being re-pointed (08P01 "server conn crashed?", "server login has been failing"); 57P0x: the
  // server is shutting down, crashed, or not accepting connections yet.
  if (code !== undefined && (CONNECTION_ERROR_CODES.has(code) || /^(08|57P0)/.test(code))) {
    return true;
  }
  return CONNECTION_ERROR_MESSAGES.test(e?.message ?? '');
}
