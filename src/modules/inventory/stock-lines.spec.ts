import { findShortages, normalizeLines } from './stock-lines';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

describe(normalizeLines.name, () => {
  it('merges lines of one product and sorts by product id', () => {
    const sut = normalizeLines([
      { productId: B, quantity: 1 },
      { productId: A.toUpperCase(), quantity: 2 },
      { productId: A, quantity: 3 },
    ]);
    expect(sut).toEqual([
      { productId: A, quantity: 5 },
      { productId: B, quantity: 1 },
    ]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses the quantity %p', (quantity) => {
    expect(() => normalizeLines([{ productId: A, quantity }])).toThrow(RangeError);
  });
});

describe(findShortages.name, () => {
  it('lists every line the levels cannot cover, unknown products as 0 available', () => {
    const sut = findShortages(
      [
        { productId: A, quantity: 5 },
        { productId: B, quantity: 1 },
      ],
      [{ productId: A, quantity: 10, reservedQuantity: 6, availableQuantity: 4 }],
    );
    expect(sut).toEqual([
      { productId: A, requested: 5, available: 4 },
      { productId: B, requested: 1, available: 0 },
    ]);
  });

  it('is empty when everything is covered', () => {
    expect(
      findShortages(
        [{ productId: A, quantity: 4 }],
        [{ productId: A, quantity: 4, reservedQuantity: 0, availableQuantity: 4 }],
      ),
    ).toEqual([]);
  });
});
