import { parsePrice } from './price';

describe(parsePrice.name, () => {
  it.each([
    ['19.99', '19.99'],
    [19.99, '19.99'],
    [5, '5.00'],
    ['7.5', '7.50'],
    ['007.50', '7.50'],
    ['0.01', '0.01'],
    [' 12 ', '12.00'],
    ['9999999999.99', '9999999999.99'],
  ])('accepts %p as %p', (input, expected) => {
    expect(parsePrice(input)).toBe(expected);
  });

  it.each([
    ['0'],
    [0],
    ['0.00'],
    ['-1'],
    [-1],
    ['19.999'],
    [0.1 + 0.2],
    ['1e3'],
    [1e21],
    ['abc'],
    [''],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    ['12345678901.00'],
    [null],
    [true],
    [{}],
  ])('refuses %p', (input) => {
    expect(parsePrice(input)).toBeNull();
  });
});
