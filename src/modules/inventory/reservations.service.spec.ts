import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { createOrderIds, ledgerSumsOf, levelsOf } from '../../../test/factories/inventory.factory';
import { createProduct } from '../../../test/factories/product.factory';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { InsufficientStockError, ReservationNotActiveError } from './inventory.errors';
import { ReservationsService } from './reservations.service';
import { StockService } from './stock.service';

describe(ReservationsService.name, () => {
  let app: TestApp;
  let ds: DataSource;
  let sut: ReservationsService;

  beforeAll(async () => {
    app = await startTestApp({ DATABASE_POOL_SIZE: '20' });
    ds = app.dataSource;
    sut = app.get(ReservationsService);
  });
  afterAll(() => app.close());

  async function expectLedgerToMatch(productId: string): Promise<void> {
    expect(await ledgerSumsOf(ds, productId)).toEqual(await levelsOf(ds, productId));
  }

  describe('reserve', () => {
    it('reserves every line, records RESERVE rows and returns the reservations', async () => {
      const a = await createProduct(ds, { stock: 10 });
      const b = await createProduct(ds, { stock: 5 });
      const [orderId] = await createOrderIds(ds);

      const reservations = await sut.reserve(null, {
        orderId,
        lines: [
          { productId: b.id, quantity: 2 },
          { productId: a.id, quantity: 3 },
        ],
      });

      expect(reservations).toHaveLength(2);
      expect(reservations.every((r) => r.status === 'ACTIVE' && r.orderId === orderId)).toBe(true);
      expect(await levelsOf(ds, a.id)).toEqual({ quantity: 10, reservedQuantity: 3 });
      expect(await levelsOf(ds, b.id)).toEqual({ quantity: 5, reservedQuantity: 2 });
      await expectLedgerToMatch(a.id);
      await expectLedgerToMatch(b.id);
    });

    it('is all-or-nothing: one short line reserves nothing and names the product short', async () => {
      const plenty = await createProduct(ds, { stock: 10 });
      const scarce = await createProduct(ds, { stock: 1 });
      const [orderId] = await createOrderIds(ds);

      const error = await sut
        .reserve(null, {
          orderId,
          lines: [
            { productId: plenty.id, quantity: 1 },
            { productId: scarce.id, quantity: 2 },
          ],
        })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InsufficientStockError);
      expect(error).toMatchObject({ code: 'INSUFFICIENT_STOCK', status: 409, productIds: [scarce.id] });
      expect(await levelsOf(ds, plenty.id)).toEqual({ quantity: 10, reservedQuantity: 0 });
      const [{ count }] = await ds.query(
        `SELECT count(*)::int AS count FROM inventory_reservations WHERE order_id = $1`,
        [orderId],
      );
      expect(count).toBe(0);
      await expectLedgerToMatch(plenty.id);
    });

    it('returns the existing reservations when the same order reserves again, even concurrently', async () => {
      const product = await createProduct(ds, { stock: 10 });
      const [orderId] = await createOrderIds(ds);
      const request = { orderId, lines: [{ productId: product.id, quantity: 4 }] };

      const results = await Promise.all(Array.from({ length: 5 }, () => sut.reserve(null, request)));
      const again = await sut.reserve(null, request);

      const ids = new Set([...results, again].map((r) => r[0].id));
      expect(ids.size).toBe(1);
      expect(await levelsOf(ds, product.id)).toEqual({ quantity: 10, reservedQuantity: 4 });
      await expectLedgerToMatch(product.id);
    });

    it('never oversells: 200 concurrent single-unit reservations for 50 in stock → exactly 50 succeed', async () => {
      const product = await createProduct(ds, { stock: 50 });
      const orderIds = await createOrderIds(ds, 200);

      const started = performance.now();
      let lastSuccessAt = started;
      const outcomes = await Promise.allSettled(
        orderIds.map(async (orderId) => {
          const reservations = await sut.reserve(null, {
            orderId,
            lines: [{ productId: product.id, quantity: 1 }],
          });
          lastSuccessAt = performance.now();
          return reservations;
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const successSeconds = (lastSuccessAt - started) / 1000;

      const succeeded = outcomes.filter((o) => o.status === 'fulfilled');
      const failed = outcomes.filter((o) => o.status === 'rejected');
      expect(succeeded).toHaveLength(50);
      expect(failed.every((o) => o.reason instanceof InsufficientStockError)).toBe(true);
      expect(await levelsOf(ds, product.id)).toEqual({ quantity: 50, reservedQuantity: 50 });
      await expectLedgerToMatch(product.id);
      console.log(
        `stress: 200 reserve calls on one row in ${seconds.toFixed(3)} s (${Math.round(200 / seconds)} calls/s); ` +
          `the 50 successes within ${successSeconds.toFixed(3)} s (${Math.round(50 / successSeconds)} reservations/s)`,
      );
    });

    it('finishes overlapping multi-item reservations without deadlock', async () => {
      const products = await Promise.all(Array.from({ length: 4 }, () => createProduct(ds, { stock: 1000 })));
      const orderIds = await createOrderIds(ds, 60);

      // Each order lists the products in a different order; the service must lock them in one order.
      const outcomes = await Promise.allSettled(
        orderIds.map((orderId, i) => {
          const rotated = [...products.slice(i % 4), ...products.slice(0, i % 4)];
          const lines = (i % 2 === 0 ? rotated : rotated.reverse()).map((p) => ({
            productId: p.id,
            quantity: 2,
          }));
          return sut.reserve(null, { orderId, lines });
        }),
      );

      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      for (const p of products) {
        expect(await levelsOf(ds, p.id)).toEqual({ quantity: 1000, reservedQuantity: 120 });
        await expectLedgerToMatch(p.id);
      }
    });
  });

  describe('joining the caller transaction', () => {
    it('is undone with the caller transaction', async () => {
      const product = await createProduct(ds, { stock: 5 });
      const [orderId] = await createOrderIds(ds);

      await expect(
        ds.transaction(async (tx) => {
          await sut.reserve(tx, { orderId, lines: [{ productId: product.id, quantity: 2 }] });
          throw new Error('the saga step failed later');
        }),
      ).rejects.toThrow('the saga step failed later');

      expect(await levelsOf(ds, product.id)).toEqual({ quantity: 5, reservedQuantity: 0 });
    });

    it('undoes only its own work on shortage, leaving the caller transaction usable', async () => {
      const plenty = await createProduct(ds, { stock: 5 });
      const scarce = await createProduct(ds, { stock: 0 });
      const [orderId] = await createOrderIds(ds);

      await ds.transaction(async (tx) => {
        await expect(
          sut.reserve(tx, {
            orderId,
            lines: [
              { productId: plenty.id, quantity: 1 },
              { productId: scarce.id, quantity: 1 },
            ],
          }),
        ).rejects.toBeInstanceOf(InsufficientStockError);
        await app.get(StockService).replenish(tx, plenty.id, 3, { actor: 'test' });
      });

      expect(await levelsOf(ds, plenty.id)).toEqual({ quantity: 8, reservedQuantity: 0 });
      await expectLedgerToMatch(plenty.id);
    });
  });

  describe('release, confirm and restock', () => {
    async function reserved(stock: number, quantity: number, ttlSeconds?: number) {
      const product = await createProduct(ds, { stock });
      const [orderId] = await createOrderIds(ds);
      await sut.reserve(null, { orderId, lines: [{ productId: product.id, quantity }], ttlSeconds });
      return { productId: product.id, orderId };
    }

    it('release gives the stock back once; a second release is a no-op', async () => {
      const { productId, orderId } = await reserved(10, 4);

      const first = await sut.release(null, orderId, { reason: 'PAYMENT_FAILED' });
      const second = await sut.release(null, orderId, { reason: 'PAYMENT_FAILED' });

      expect(first).toMatchObject([{ status: 'RELEASED', releaseReason: 'PAYMENT_FAILED' }]);
      expect(second).toEqual([]);
      expect(await levelsOf(ds, productId)).toEqual({ quantity: 10, reservedQuantity: 0 });
      await expectLedgerToMatch(productId);
    });

    it('confirm turns the reservation into a sale once; replays and a later release change nothing', async () => {
      const { productId, orderId } = await reserved(10, 4);

      await sut.confirm(null, orderId);
      const replay = await sut.confirm(null, orderId);
      await sut.release(null, orderId, { reason: 'late cancel' });

      expect(replay).toMatchObject([{ status: 'CONFIRMED' }]);
      expect(await levelsOf(ds, productId)).toEqual({ quantity: 6, reservedQuantity: 0 });
      await expectLedgerToMatch(productId);
    });

    it('restock compensates a confirmed sale once', async () => {
      const { productId, orderId } = await reserved(10, 4);
      await sut.confirm(null, orderId);

      await sut.restock(null, orderId, { reason: 'REFUNDED' });
      const replay = await sut.restock(null, orderId, { reason: 'REFUNDED' });

      expect(replay).toEqual([]);
      expect(await levelsOf(ds, productId)).toEqual({ quantity: 10, reservedQuantity: 0 });
      await expectLedgerToMatch(productId);
    });

    it('confirm of a released reservation fails cleanly', async () => {
      const { orderId } = await reserved(10, 1);
      await sut.release(null, orderId, { reason: 'CANCELLED' });

      await expect(sut.confirm(null, orderId)).rejects.toMatchObject({
        code: 'RESERVATION_NOT_ACTIVE',
        reason: 'RELEASED',
      });
    });

    it('confirm of an order without reservations fails cleanly', async () => {
      const [orderId] = await createOrderIds(ds);
      await expect(sut.confirm(null, orderId)).rejects.toMatchObject({ reason: 'NOT_FOUND' });
    });
  });

  describe('expiry', () => {
    it('releases due reservations (EXPIRED, ledger EXPIRE) and confirm then fails cleanly', async () => {
      const product = await createProduct(ds, { stock: 3 });
      const [orderId] = await createOrderIds(ds);
      await sut.reserve(null, { orderId, lines: [{ productId: product.id, quantity: 2 }], ttlSeconds: 0 });

      // Due but not yet swept: confirm already refuses it.
      await expect(sut.confirm(null, orderId)).rejects.toBeInstanceOf(ReservationNotActiveError);

      await sut.expireDue();

      const [reservation] = await ds.query(
        `SELECT status, release_reason FROM inventory_reservations WHERE order_id = $1`,
        [orderId],
      );
      expect(reservation).toEqual({ status: 'EXPIRED', release_reason: 'TTL_EXPIRED' });
      expect(await levelsOf(ds, product.id)).toEqual({ quantity: 3, reservedQuantity: 0 });
      const types = await ds.query(`SELECT type FROM stock_movements WHERE product_id = $1 ORDER BY id`, [
        product.id,
      ]);
      expect(types.map((t: { type: string }) => t.type)).toEqual(['REPLENISH', 'RESERVE', 'EXPIRE']);
      await expectLedgerToMatch(product.id);
      await expect(sut.confirm(null, orderId)).rejects.toMatchObject({ reason: 'EXPIRED' });
    });

    it('leaves reservations that are not due alone', async () => {
      const product = await createProduct(ds, { stock: 3 });
      const [orderId] = await createOrderIds(ds);
      await sut.reserve(null, { orderId, lines: [{ productId: product.id, quantity: 1 }] });

      await sut.expireDue();

      expect(await levelsOf(ds, product.id)).toEqual({ quantity: 3, reservedQuantity: 1 });
    });
  });

  describe('checkAvailability', () => {
    it('reports shortages without changing anything', async () => {
      const product = await createProduct(ds, { stock: 2 });
      const result = await sut.checkAvailability(null, [{ productId: product.id, quantity: 3 }]);
      expect(result).toEqual({
        available: false,
        shortages: [{ productId: product.id, requested: 3, available: 2 }],
      });
      expect((await sut.checkAvailability(null, [{ productId: product.id, quantity: 2 }])).available).toBe(
        true,
      );
    });
  });
});
