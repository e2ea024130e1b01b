import { PaymentMethod } from './payment-provider';

/** What a settled charge's reference carries: enough for a refund through any instance of the mock. */
export interface ReferenceFacts {
  cents: number;
  currency: string;
  method: PaymentMethod;
  refundsFail: boolean;
}

/**
 * The mock gateway's reference codec. A settled charge's reference embeds its facts, so an instance
 * that never saw the charge (another process, or this one after a restart) can still refund it when
 * the shared ledger has no row for it (a ledger-less unit test, or a reference from before the ledger).
 */
export function encodeReference(id: string, facts: ReferenceFacts): string {
  const compact = { c: facts.cents, cur: facts.currency, m: facts.method, rf: facts.refundsFail };
  return `${id}.${Buffer.from(JSON.stringify(compact)).toString('base64url')}`;
}

export function decodeReference(reference: string): ReferenceFacts | undefined {
  const [id, encoded] = reference.split('.');
  if (!id.startsWith('ch_') || !encoded) {
    return undefined;
  }
  try {
    const facts = JSON.parse(Buffer.from(encoded, 'base64url').toString()) as {
      c: number;
      cur: string;
      m: PaymentMethod;
      rf: boolean;
    };
    if (!Number.isSafeInteger(facts.c) || typeof facts.cur !== 'string') {
      return undefined;
    }
    return { cents: facts.c, currency: facts.cur, method: facts.m, refundsFail: facts.rf === true };
  } catch {
    return undefined;
  }
}
