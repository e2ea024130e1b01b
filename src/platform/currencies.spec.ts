import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { microUsdPerUnit, SUPPORTED_CURRENCIES, toUsdCents, USD_PER_UNIT } from './currencies';

const SRC = join(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return sourceFiles(path);
    }
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

describe('currencies', () => {
  describe('the rate table', () => {
    it('is the only one in the code: no other file maps currency codes to rates', () => {
      // A line such as `CAD: 740_000n,` or `MXN: '0.058',`: the shape of the copy that once disagreed.
      const rateLine = /^\s*['"]?(?:EUR|GBP|CAD|MXN|JPY|CHF|AUD)['"]?\s*:\s*['"]?\d[\d_.]*n?['"]?\s*,?\s*$/m;
      const tables = sourceFiles(SRC)
        .filter((file) => rateLine.test(readFileSync(file, 'utf8')))
        .map((file) => relative(SRC, file));
      expect(tables).toEqual(['platform/currencies.ts']);
    });

    it('holds every currency orders accept, each rate exact to the millionth', () => {
      for (const currency of SUPPORTED_CURRENCIES) {
        expect(USD_PER_UNIT[currency]).toBeDefined();
      }
      for (const currency of Object.keys(USD_PER_UNIT)) {
        expect(microUsdPerUnit(currency)).toBeGreaterThan(0n);
      }
      expect(microUsdPerUnit('cad')).toBe(730_000n);
      expect(microUsdPerUnit('JPY')).toBe(6_700n);
      expect(microUsdPerUnit('XXX')).toBeUndefined();
    });
  });

  describe('toUsdCents', () => {
    it('converts with integer arithmetic, rounding down', () => {
      expect(toUsdCents('100.00', 'USD')).toBe(10_000n);
      expect(toUsdCents('123.15', 'CAD')).toBe(8_989n); // 89.8995 USD
      expect(toUsdCents('1634.55', 'MXN')).toBe(8_990n); // 89.90025 USD
      expect(toUsdCents('1.00', 'XXX')).toBeUndefined();
    });
  });
});
