import { randomUUID } from 'node:crypto';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { ProductCache } from './product-cache';

describe(ProductCache.name, () => {
  let app: TestApp;
  let sut: ProductCache;

  beforeAll(async () => {
    app = await startTestApp();
    sut = app.get(ProductCache);
  });
  afterAll(() => app.close());

  it('serves the second read from Redis', async () => {
    const key = randomUUID();
    let loads = 0;
    const load = async () => ({ price: '1.00', loads: ++loads });

    await sut.getOrLoad('product', key, load);
    const second = await sut.getOrLoad('product', key, load);

    expect(second).toEqual({ price: '1.00', loads: 1 });
  });

  it('a value loaded across a write is never served after the write returned', async () => {
    const key = randomUUID();
    // The reader loads the old price; the write commits and invalidates before the reader stores it.
    const stale = await sut.getOrLoad('product', key, async () => {
      await sut.invalidateAll();
      return { price: 'old' };
    });

    const fresh = await sut.getOrLoad('product', key, async () => ({ price: 'new' }));

    expect(stale).toEqual({ price: 'old' });
    expect(fresh).toEqual({ price: 'new' });
  });

  it('does not cache a missing product', async () => {
    const key = randomUUID();
    await sut.getOrLoad('product', key, async () => null);
    expect(await sut.getOrLoad('product', key, async () => ({ found: true }))).toEqual({ found: true });
  });
});
