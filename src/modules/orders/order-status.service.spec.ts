import { DataSource, EntityManager } from 'typeorm';
import { createOrder } from '../../../test/factories/order.factory';
import { eventually } from '../../../test/support/eventually';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { CancellationInProgressError, IllegalTransitionError, OrderStatus } from './order-status';
import { OrderStatusService } from './order-status.service';

type SagaStatus = 'RUNNING' | 'WAITING' | 'COMPLETED' | 'COMPENSATING' | 'COMPENSATED' | 'NEEDS_ATTENTION';

/** Runs `work` in a transaction that stays open until `release()` is called: a lock held on purpose. */
function openTransaction(ds: DataSource, work: (tx: EntityManager) => Promise<void>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const done = ds.transaction(async (tx) => {
    await work(tx);
    ready();
    await released;
  });
  return { started, release, done };
}

/** True once some backend waits for a lock while running `fragment` (the statement under test is blocked). */
async function blockedOnLock(ds: DataSource, fragment: string): Promise<boolean> {
  const rows = await ds.query<unknown[]>(
    `SELECT 1 FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`,
    [fragment],
  );
  return rows.length > 0;
}

describe(OrderStatusService.name, () => {
  let app: TestApp;
  let ds: DataSource;
  let sut: OrderStatusService;

  beforeAll(async () => {
    app = await startTestApp();
    ds = app.dataSource;
    sut = app.get(OrderStatusService);
  });
  afterAll(() => app.close());

  async function orderWithSaga(status: OrderStatus, saga: SagaStatus | undefined): Promise<string> {
    const order = await createOrder(ds, { status });
    if (saga) {
      await ds.query(`INSERT INTO saga_state (order_id, status) VALUES ($1, $2)`, [order.id, saga]);
    }
    return order.id;
  }

  const statusOf = async (orderId: string): Promise<string> =>
    (await ds.query<{ status: string }[]>('SELECT status FROM orders WHERE id = $1', [orderId]))[0].status;

  const move = (orderId: string, to: OrderStatus) =>
    ds.transaction((tx) => sut.transition(tx, orderId, to, { strict: true }));

  describe('fulfilment while the order is being undone', () => {
    it.each([
      ['SHIPPED', 'CONFIRMED', 'COMPENSATING'],
      ['SHIPPED', 'CONFIRMED', 'NEEDS_ATTENTION'],
      ['SHIPPED', 'CONFIRMED', 'COMPENSATED'],
      ['DELIVERED', 'SHIPPED', 'COMPENSATING'],
      ['REFUNDED', 'CONFIRMED', 'NEEDS_ATTENTION'],
    ] as const)('refuses %s from %s when the saga is %s, and changes nothing', async (to, from, saga) => {
      const orderId = await orderWithSaga(from, saga);

      const error = await move(orderId, to).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(CancellationInProgressError);
      expect(error).toMatchObject({ status: 409, code: 'CANCELLATION_IN_PROGRESS' });
      expect(await statusOf(orderId)).toBe(from);
      const [{ count }] = await ds.query(
        'SELECT count(*)::int AS count FROM order_status_history WHERE order_id = $1',
        [orderId],
      );
      expect(count).toBe(0);
    });

    it('still lets the saga cancel that order, and ships when the saga completed or never existed', async () => {
      const undoing = await orderWithSaga('CONFIRMED', 'COMPENSATING');
      expect((await move(undoing, 'CANCELLED')).changed).toBe(true);

      const completed = await orderWithSaga('CONFIRMED', 'COMPLETED');
      expect((await move(completed, 'SHIPPED')).changed).toBe(true);
      const bare = await orderWithSaga('CONFIRMED', undefined);
      expect((await move(bare, 'SHIPPED')).changed).toBe(true);
    });

    it('answers the status table first: an illegal move stays ILLEGAL_TRANSITION', async () => {
      const orderId = await orderWithSaga('PROCESSING', 'COMPENSATING');
      await expect(move(orderId, 'SHIPPED')).rejects.toBeInstanceOf(IllegalTransitionError);
      await expect(move(orderId, 'SHIPPED')).rejects.not.toBeInstanceOf(CancellationInProgressError);
    });

    it('a ship racing a cancellation that is not committed yet waits for it, then is refused', async () => {
      const orderId = await orderWithSaga('CONFIRMED', 'COMPLETED');
      // What a cancellation does: lock the saga row, mark it compensating; not committed yet.
      const cancel = openTransaction(ds, async (tx) => {
        await tx.query(`SELECT 1 FROM saga_state WHERE order_id = $1 FOR UPDATE`, [orderId]);
        await tx.query(`UPDATE saga_state SET status = 'COMPENSATING' WHERE order_id = $1`, [orderId]);
      });
      await cancel.started;

      const ship = move(orderId, 'SHIPPED').catch((e: unknown) => e);
      await eventually(() => blockedOnLock(ds, 'saga_status'), {
        what: 'the ship to wait for the saga lock',
      });
      cancel.release();
      await cancel.done;

      expect(await ship).toBeInstanceOf(CancellationInProgressError);
      expect(await statusOf(orderId)).toBe('CONFIRMED');
    });

    it('takes the saga lock before the order lock, as the saga runner does (no deadlock)', async () => {
      const orderId = await orderWithSaga('CONFIRMED', 'COMPENSATING');
      const runner = openTransaction(ds, async (tx) => {
        await tx.query(`SELECT 1 FROM saga_state WHERE order_id = $1 FOR UPDATE`, [orderId]);
      });
      await runner.started;
      const ship = move(orderId, 'SHIPPED').catch((e: unknown) => e);
      await eventually(() => blockedOnLock(ds, 'saga_status'), {
        what: 'the ship to wait for the saga lock',
      });

      // The runner's next move locks the order: the waiting ship must not hold it.
      const orderLock = ds.transaction((tx) =>
        tx.query(`SELECT 1 FROM orders WHERE id = $1 FOR UPDATE NOWAIT`, [orderId]),
      );
      await expect(orderLock).resolves.toEqual([{ '?column?': 1 }]);
      runner.release();
      await runner.done;
      expect(await ship).toBeInstanceOf(CancellationInProgressError);
    });
  });

  describe('announcing a status change (OrderStatusChanged in the outbox)', () => {
    const eventsOf = (orderId: string) =>
      ds.query<{ payload: { orderId: string; from: string; to: string; reason: string | null } }[]>(
        `SELECT payload FROM outbox_events WHERE aggregate_id = $1 AND event_type = 'OrderStatusChanged' ORDER BY created_at`,
        [orderId],
      );

    it('writes one event per announced move, none for the saga-internal ones or a no-op', async () => {
      const orderId = await orderWithSaga('PENDING', undefined);
      await move(orderId, 'PROCESSING');
      await ds.transaction((tx) => sut.transition(tx, orderId, 'CONFIRMED', { reason: 'paid' }));
      await ds.transaction((tx) => sut.transition(tx, orderId, 'CONFIRMED'));
      expect((await eventsOf(orderId)).map((e) => e.payload)).toEqual([
        expect.objectContaining({ orderId, from: 'PROCESSING', to: 'CONFIRMED', reason: 'paid' }),
      ]);
    });

    it('writes it with the change: a rolled-back move leaves no event', async () => {
      const orderId = await orderWithSaga('CONFIRMED', 'COMPLETED');
      await ds
        .transaction(async (tx) => {
          await sut.transition(tx, orderId, 'SHIPPED', { trackingNumber: 'T-1' });
          throw new Error('rolled back');
        })
        .catch(() => undefined);
      expect(await eventsOf(orderId)).toEqual([]);
    });

    it('announces every order of a batch move', async () => {
      const ids = [
        await orderWithSaga('PROCESSING', undefined),
        await orderWithSaga('PROCESSING', undefined),
      ];
      await ds.transaction((tx) =>
        sut.transitionMany(tx, ids, 'PAYMENT_FAILED', { failureReason: 'DECLINED' }),
      );
      for (const orderId of ids) {
        expect((await eventsOf(orderId)).map((e) => e.payload)).toEqual([
          expect.objectContaining({ orderId, from: 'PROCESSING', to: 'PAYMENT_FAILED', reason: 'DECLINED' }),
        ]);
      }
    });
  });
});
