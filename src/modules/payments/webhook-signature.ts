import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, as Stripe does. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-gateway-signature';
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export function signWebhook(secret: string, rawBody: string | Buffer, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, rawBody)}`;
}

export type SignatureVerdict = 'valid' | 'malformed' | 'mismatch' | 'stale';

/**
 * Checks the signature over the exact bytes received (re-serialised JSON would not match) and refuses
 * timestamps outside the tolerance, so a captured request cannot be replayed later.
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: Buffer,
  header: string | undefined,
  nowSeconds: number,
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
): SignatureVerdict {
  const parts = new Map(
    (header ?? '').split(',').map((part) => {
      const [key, ...rest] = part.trim().split('=');
      return [key, rest.join('=')] as const;
    }),
  );
  const timestamp = Number(parts.get('t'));
  const signature = parts.get('v1');
  if (!Number.isSafeInteger(timestamp) || !signature || !/^[0-9a-f]{64}$/.test(signature)) {
    return 'malformed';
  }
  const expected = Buffer.from(hmac(secret, timestamp, rawBody), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return 'mismatch';
  }
  return Math.abs(nowSeconds - timestamp) > toleranceSeconds ? 'stale' : 'valid';
}

function hmac(secret: string, timestampSeconds: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
}
