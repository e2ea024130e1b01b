/**
 * Money without floats: amounts travel as numeric(12,2) strings ("12.50") and arithmetic happens on
 * integer cents. Every money calculation in the code base goes through these helpers.
 */
const AMOUNT = /^(-)?(\d+)(?:\.(\d{1,2}))?$/;

/** "12.5" → 1250. Refuses anything that is not a plain decimal with at most two fraction digits. */
export function toCents(amount: string | number): number {
  const text = typeof amount === 'number' ? amountFromNumber(amount) : amount.trim();
  const match = AMOUNT.exec(text);
  if (!match) {
    throw new RangeError(`"${text}" is not a money amount with at most two decimals`);
  }
  const [, sign, whole, fraction = ''] = match;
  const cents = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  if (!Number.isSafeInteger(cents)) {
    throw new RangeError(`"${text}" is too large`);
  }
  return sign ? -cents : cents;
}

/** 1250 → "12.50", the exact string PostgreSQL's numeric(12,2) prints. */
export function fromCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) {
    throw new RangeError(`${cents} is not a whole number of cents`);
  }
  const abs = Math.abs(cents);
  const text = `${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  return cents < 0 ? `-${text}` : text;
}

export function sumAmounts(amounts: readonly (string | number)[]): string {
  return fromCents(amounts.reduce<number>((total, amount) => total + toCents(amount), 0));
}

/** unit price × quantity, exact (quantity is a whole number). */
export function multiplyAmount(amount: string | number, quantity: number): string {
  if (!Number.isSafeInteger(quantity)) {
    throw new RangeError(`${quantity} is not a whole quantity`);
  }
  return fromCents(toCents(amount) * quantity);
}

export function subtractAmounts(from: string | number, amount: string | number): string {
  return fromCents(toCents(from) - toCents(amount));
}

export function compareAmounts(a: string | number, b: string | number): -1 | 0 | 1 {
  const diff = toCents(a) - toCents(b);
  return diff === 0 ? 0 : diff < 0 ? -1 : 1;
}

/** A JS number is only accepted when it is exactly representable with two decimals (a literal like 12.5). */
function amountFromNumber(value: number): string {
  if (!Number.isFinite(value)) {
    throw new RangeError(`${value} is not a money amount`);
  }
  const text = String(value);
  if (!AMOUNT.test(text)) {
    throw new RangeError(`${value} is not a money amount with at most two decimals`);
  }
  return text;
}
