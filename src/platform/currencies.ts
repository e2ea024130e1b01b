/**
 * The currencies orders may be placed in, with a fixed reference rate (US dollars per unit).
 * Catalogue prices are converted on the server with exact decimal arithmetic in PostgreSQL.
 */
export const USD_PER_UNIT = {
  USD: '1',
  EUR: '1.08',
  GBP: '1.27',
  CAD: '0.73',
  MXN: '0.055',
} as const;

export type Currency = keyof typeof USD_PER_UNIT;

export const SUPPORTED_CURRENCIES = Object.keys(USD_PER_UNIT) as Currency[];
