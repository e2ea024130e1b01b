import { toCents } from './money';

/**
 * The one table of reference rates, in US dollars per unit (approximate 2024 averages). Orders convert
 * catalogue prices with it (exact decimal arithmetic in PostgreSQL) and the mock gateway converts a
 * charge to USD with it for its fraud limit: one table, so an amount is worth the same on every path.
 * At most six decimals per rate, so the gateway's conversion stays integer arithmetic.
 */
export const USD_PER_UNIT = {
  USD: '1',
  EUR: '1.08',
  GBP: '1.27',
  CHF: '1.13',
  CAD: '0.73',
  AUD: '0.66',
  MXN: '0.055',
  BRL: '0.2',
  JPY: '0.0067',
  CNY: '0.138',
  INR: '0.012',
} as const;

export type KnownCurrency = keyof typeof USD_PER_UNIT;

/** The currencies orders may be placed in: a subset of the table, all with two decimal places. */
export const SUPPORTED_CURRENCIES = [
  'USD',
  'EUR',
  'GBP',
  'CAD',
  'MXN',
] as const satisfies readonly KnownCurrency[];

export type Currency = (typeof SUPPORTED_CURRENCIES)[number];

export function isKnownCurrency(code: string): code is KnownCurrency {
  return Object.hasOwn(USD_PER_UNIT, code);
}

const RATE = /^(\d+)(?:\.(\d{1,6}))?$/;

/** The rate in millionths of a dollar per unit; undefined for a currency without a rate. */
export function microUsdPerUnit(currency: string): bigint | undefined {
  const code = currency.toUpperCase();
  if (!isKnownCurrency(code)) {
    return undefined;
  }
  const match = RATE.exec(USD_PER_UNIT[code]);
  if (!match) {
    throw new RangeError(`The rate of ${code} has more than six decimals`);
  }
  return BigInt(match[1]) * 1_000_000n + BigInt((match[2] ?? '').padEnd(6, '0'));
}

/** The amount in US cents, rounded down; undefined for a currency without a rate. */
export function toUsdCents(amount: string, currency: string): bigint | undefined {
  const rate = microUsdPerUnit(currency);
  return rate === undefined ? undefined : (BigInt(toCents(amount)) * rate) / 1_000_000n;
}

/**
 * SQL for `amount` converted from one currency to another and rounded to cents, with the table above
 * passed as a jsonb parameter (JSON.stringify(USD_PER_UNIT)): how orders price their lines in PostgreSQL.
 */
export function convertedAmountSql(amount: string, from: string, to: string, rates: string): string {
  return `round(${amount} * (${rates} ->> ${from})::numeric / (${rates} ->> ${to})::numeric, 2)`;
}
