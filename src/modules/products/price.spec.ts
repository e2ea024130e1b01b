import { parsePrice, priceProblem } from './price';

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

describe(priceProblem.name, () => {
  it.each([
    ['12345678901.00', 'must be at most 9999999999.99'],
    [1e21, 'must be at most 9999999999.99'],
    [10_000_000_000, 'must be at most 9999999999.99'],
    ['19.999', 'must have at most 2 decimals'],
    [0.1 + 0.2, 'must have at most 2 decimals'],
    ['0', 'must be greater than 0'],
    [-1, 'must be greater than 0'],
    ['-5.00', 'must be greater than 0'],
    ['1e3', 'must be a decimal amount, as a string or a number (e.g. "19.99")'],
    [true, 'must be a decimal amount, as a string or a number (e.g. "19.99")'],
    [Number.NaN, 'must be a decimal amount, as a string or a number (e.g. "19.99")'],
  ])('says why %p is refused: %p', (input, expected) => {
    expect(parsePrice(input)).toBeNull();
    expect(priceProblem(input)).toBe(expected);
  });
});
