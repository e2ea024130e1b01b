import { toCents } from '../../platform/money';

/**
 * The mock gateway's conversion table to USD, in millionths of a dollar per unit, so converting stays
 * integer arithmetic. Approximate 2024 rates: good enough to apply a fraud limit.
 */
const MICRO_USD_PER_UNIT: Readonly<Record<string, bigint>> = {
  USD: 1_000_000n,
  EUR: 1_080_000n,
  GBP: 1_270_000n,
  CHF: 1_130_000n,
  CAD: 740_000n,
  AUD: 660_000n,
  MXN: 58_000n,
  BRL: 200_000n,
  JPY: 6_700n,
  CNY: 138_000n,
  INR: 12_000n,
};

export function isSupportedCurrency(currency: string): boolean {
  return currency.toUpperCase() in MICRO_USD_PER_UNIT;
}

/** The amount in US cents, rounded down; undefined for a currency the gateway does not handle. */
export function toUsdCents(amount: string, currency: string): bigint | undefined {
  const rate = MICRO_USD_PER_UNIT[currency.toUpperCase()];
  if (rate === undefined) {
    return undefined;
  }
  return (BigInt(toCents(amount)) * rate) / 1_000_000n;
}
