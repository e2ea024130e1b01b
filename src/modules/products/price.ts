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

/** Accepts what `parsePrice` accepts; the DTO transform then stores the canonical string. */
export function IsPrice(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPrice',
      validator: {
        validate: (value: unknown) => parsePrice(value) !== null,
        defaultMessage: (args) =>
          `${args?.property ?? 'price'} must be a positive amount with at most 2 decimals (e.g. "19.99")`,
      },
    },
    options,
  );
}
