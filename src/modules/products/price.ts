import { ValidateBy, ValidationOptions } from 'class-validator';

/** numeric(12,2): up to 10 integer digits and at most 2 decimals. */
const PRICE = /^\d{1,10}(\.\d{1,2})?$/;

/**
 * A price as the exact decimal string PostgreSQL stores, or null when the input is not a positive
 * amount with at most two decimals. Numbers are accepted by their shortest decimal spelling
 * (19.99 → "19.99"; 0.1 + 0.2 is refused); the value is never used in float arithmetic.
 */
export function parsePrice(value: unknown): string | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return null;
    }
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return null;
  }
  if (!PRICE.test(text) || !/[1-9]/.test(text)) {
    return null;
  }
  return normalizePrice(text);
}

/** "007.5" → "7.50": the canonical spelling, so equal prices compare and cache equal. */
function normalizePrice(text: string): string {
  const [whole, fraction = ''] = text.split('.');
  return `${whole.replace(/^0+(?=\d)/, '')}.${fraction.padEnd(2, '0')}`;
}

export const MAX_PRICE = '9999999999.99';

/** Why `parsePrice` refuses the value, worded for the caller: the real limit, not a guess at it. */
export function priceProblem(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) {
    return value <= 0
      ? 'must be greater than 0'
      : value > Number(MAX_PRICE)
        ? `must be at most ${MAX_PRICE}`
        : 'must have at most 2 decimals';
  }
  const match = typeof value === 'string' ? /^(-?)(\d+)(?:\.(\d*))?$/.exec(value.trim()) : null;
  if (match === null) {
    return 'must be a decimal amount, as a string or a number (e.g. "19.99")';
  }
  const [, sign, whole, fraction = ''] = match;
  if (sign === '-' || !/[1-9]/.test(whole + fraction)) {
    return 'must be greater than 0';
  }
  return whole.replace(/^0+/, '').length > 10
    ? `must be at most ${MAX_PRICE}`
    : 'must have at most 2 decimals';
}

/** Accepts what `parsePrice` accepts; the DTO transform then stores the canonical string. */
export function IsPrice(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPrice',
      validator: {
        validate: (value: unknown) => parsePrice(value) !== null,
        defaultMessage: (args) => `${args?.property ?? 'price'} ${priceProblem(args?.value)}`,
      },
    },
    options,
  );
}
