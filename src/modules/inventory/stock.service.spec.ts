import { DataSource } from 'typeorm';
import { createOrderIds, ledgerSumsOf, levelsOf } from '../../../test/factories/inventory.factory';
import { createProduct } from '../../../test/factories/product.factory';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { InvalidStockAdjustmentError } from './inventory.errors';
import { ReservationsService } from './reservations.service';
import { StockService } from './stock.service';

describe(StockService.name, () => {
  let app: TestApp;
  let ds: DataSource;
  let sut: StockService;

  beforeAll(async () => {
    app = await startTestApp();
    ds = app.dataSource;
    sut = app.get(StockService);
  });
  afterAll(() => app.close());

  async function expectLedgerToMatch(productId: string): Promise<void> {
    expect(await ledgerSumsOf(ds, productId)).toEqual(await levelsOf(ds, productId));
  }

  describe('replenish and adjust', () => {
    it('replenish adds stock through the ledger', async () => {
      const product = await createProduct(ds, { stock: 1 });
      expect(await sut.replenish(null, product.id, 9, { actor: 'test' })).toEqual({
        productId: product.id,
        quantity: 10,
        reservedQuantity: 0,
        availableQuantity: 10,
      });
      await expectLedgerToMatch(product.id);
    });

    it('adjust refuses to go below what is reserved', async () => {
      const product = await createProduct(ds, { stock: 5 });
      const [orderId] = await createOrderIds(ds);
      await app
        .get(ReservationsService)
        .reserve(null, { orderId, lines: [{ productId: product.id, quantity: 3 }] });

      await expect(
        sut.adjust(null, product.id, -3, { actor: 'test', reason: 'count' }),
      ).rejects.toBeInstanceOf(InvalidStockAdjustmentError);
      await expect(
        sut.adjust(null, product.id, -2, { actor: 'test', reason: 'damaged' }),
      ).resolves.toMatchObject({
        quantity: 3,
        reservedQuantity: 3,
      });
      await expectLedgerToMatch(product.id);
    });
  });
});
