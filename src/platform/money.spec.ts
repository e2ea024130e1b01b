import { compareAmounts, fromCents, multiplyAmount, subtractAmounts, sumAmounts, toCents } from './money';

describe('money', () => {
  describe(toCents.name, () => {
    it.each([
      ['12.50', 1250],
      ['12.5', 1250],
      ['12', 1200],
      ['0.01', 1],
      ['-3.20', -320],
      [' 7.05 ', 705],
      [19.99, 1999],
      ['9999999999.99', 999999999999],
    ])('%p → %p cents', (input, cents) => {
      expect(toCents(input)).toBe(cents);
    });

    it.each(['12.345', 'abc', '', '1e3', '1,50', '.5'])('refuses %p', (input) => {
      expect(() => toCents(input)).toThrow(RangeError);
    });

    it('refuses floats that carry more than two decimals', () => {
      expect(() => toCents(0.1 + 0.2)).toThrow(RangeError);
    });
  });

  describe(fromCents.name, () => {
    it('prints what numeric(12,2) prints', () => {
      expect(fromCents(1250)).toBe('12.50');
      expect(fromCents(5)).toBe('0.05');
      expect(fromCents(0)).toBe('0.00');
      expect(fromCents(-705)).toBe('-7.05');
    });

    it('refuses fractions of a cent', () => {
      expect(() => fromCents(1.5)).toThrow(RangeError);
    });
  });

  describe('arithmetic', () => {
    it('adds amounts exactly where floats would drift', () => {
      expect(sumAmounts(['0.10', '0.20'])).toBe('0.30');
      expect(sumAmounts(Array.from({ length: 1000 }, () => '0.01'))).toBe('10.00');
      expect(sumAmounts([])).toBe('0.00');
    });

    it('multiplies a unit price by a quantity', () => {
      expect(multiplyAmount('19.99', 3)).toBe('59.97');
      expect(() => multiplyAmount('1.00', 1.5)).toThrow(RangeError);
    });

    it('subtracts and compares', () => {
      expect(subtractAmounts('100.00', '33.33')).toBe('66.67');
      expect(compareAmounts('10.00', '10')).toBe(0);
      expect(compareAmounts('9.99', '10.00')).toBe(-1);
      expect(compareAmounts('10.01', '10.00')).toBe(1);
    });
  });
});
