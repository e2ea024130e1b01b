import { Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../platform/clock';
import { BusinessMetrics } from '../../platform/metrics/business-metrics';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { canTransition, IllegalTransitionError, OrderStatus } from '../orders/order-status';
import { OrderStatusService, StatusChange } from '../orders/order-status.service';
import { CheckoutSaga } from './checkout.saga';
import { SagaAnnouncer } from './saga-announcer';
import { SagaCrash, SagaFaultInjector } from './saga-faults';
import { IllegalSagaTransitionError, moveSaga } from './saga-status';
import { SagaDefinitionError, validateSteps } from './saga-table';
import { SagaTimeline } from './saga-timeline';
import { SagaRepository } from './saga.repository';
import { SagaProgress, SagaRunner } from './saga.runner';
import {
  SagaOrder,
  SagaRecord,
  SagaStep,
  StepContext,
  StepFailure,
  StepOutcome,
  StepResult,
} from './saga.types';

/**
 * The runner over fake steps, without a database: an in-memory store whose transactions roll back on
 * error, the order status table enforced as the real statement enforces it, a fixed clock, and a crash
 * that throws instead of killing the process.
 */
class CrashReached extends SagaCrash {}

class FixedClock extends Clock {
  at = new Date('2026-12-01T10:00:00Z');
  now(): Date {
    return this.at;
  }
}

/** sagas and orders in memory; a transaction works on copies and keeps them only if it succeeds. */
class MemoryStore {
  sagas = new Map<string, SagaRecord>();
  orders = new Map<string, SagaOrder>();
  transactions = 0;
  statements = 0;

  addOrder(id: string, status: OrderStatus = 'PENDING'): void {
    this.orders.set(id, {
      id,
      userId: 'user',
      status,
      totalAmount: '10.00',
      currency: 'USD',
      paymentMethod: 'credit_card',
      paymentToken: null,
      createdAt: new Date(),
      charge: null,
      sagaStatus: null,
      items: [],
    });
  }

  dataSource(): DataSource {
    const tx = { query: () => Promise.resolve([]) } as unknown as EntityManager;
    return {
      transaction: async <T>(work: (tx: EntityManager) => Promise<T>): Promise<T> => {
        this.transactions++;
        const before = structuredClone({ sagas: this.sagas, orders: this.orders });
        try {
          return await work(tx);
        } catch (error) {
          this.sagas = before.sagas;
          this.orders = before.orders;
          throw error;
        }
      },
    } as unknown as DataSource;
  }

  repository(): SagaRepository {
    return {
      lockOrCreateMany: (_tx: EntityManager, ids: string[]) => {
        this.statements++;
        return Promise.resolve(
          [...ids].sort().map((orderId) => {
            if (!this.sagas.has(orderId)) {
              this.sagas.set(orderId, {
                id: `saga-${orderId}`,
                orderId,
                status: 'RUNNING',
                currentStep: null,
                history: [],
                data: { completed: [], attempts: {} },
                failureReason: null,
                startedAt: new Date(),
                updatedAt: new Date(),
              });
            }
            return structuredClone(this.sagas.get(orderId)!);
          }),
        );
      },
      loadOrders: (_tx: EntityManager, ids: string[]) => {
        this.statements++;
        return Promise.resolve(ids.flatMap((id) => (this.orders.has(id) ? [this.orders.get(id)!] : [])));
      },
      saveMany: (_tx: EntityManager, sagas: SagaRecord[]) => {
        this.statements++;
        sagas.forEach((s) => this.sagas.set(s.orderId, structuredClone(s)));
        return Promise.resolve();
      },
      findLateCharges: () => Promise.resolve(new Set<string>()),
    } as unknown as SagaRepository;
  }

  statuses(): OrderStatusService {
    return {
      transitionMany: (_tx: EntityManager, ids: string[], to: OrderStatus) => {
        this.statements++;
        const changes = ids.map((orderId): StatusChange => {
          const order = this.orders.get(orderId)!;
          if (order.status === to) {
            return { orderId, from: to, to, at: new Date(), changed: false };
          }
          if (!canTransition(order.status, to)) {
            throw new IllegalTransitionError(order.status, to);
          }
          return { orderId, from: order.status, to, eventId: orderId, at: new Date(), changed: true };
        });
        changes.forEach((c) => (this.orders.get(c.orderId)!.status = to));
        return Promise.resolve(changes);
      },
    } as unknown as OrderStatusService;
  }
}

/** A fake step: records the batches it was given and answers per order from `answer`. */
function fakeStep(
  name: string,
  answer: (ctx: StepContext) => StepResult | StepFailure | Error = () => 'done',
  extra: Partial<SagaStep> = {},
): SagaStep & { batches: string[][]; compensated: string[] } {
  const step = {
    name,
    batches: [] as string[][],
    compensated: [] as string[],
    action: (ctx: StepContext): Promise<StepResult> => {
      step.batches.push([ctx.order.id]);
      const outcome = answer(ctx);
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    },
    batchAction: (ctxs: StepContext[]): Promise<StepOutcome[]> => {
      step.batches.push(ctxs.map((c) => c.order.id));
      const outcomes = ctxs.map(answer);
      const unexpected = outcomes.find((o): o is Error => o instanceof Error && !(o instanceof StepFailure));
      return unexpected ? Promise.reject(unexpected) : Promise.resolve(outcomes as StepOutcome[]);
    },
    compensation: (ctx: StepContext): Promise<StepResult> => {
      step.compensated.push(ctx.order.id);
      return Promise.resolve('done');
    },
    ...extra,
  };
  return step;
}

function build(
  steps: SagaStep[],
  crashAt?: { step: string; when: 'before' | 'after' },
  store = new MemoryStore(),
) {
  const clock = new FixedClock();
  const announced: StatusChange[] = [];
  const metrics = new BusinessMetrics(new MetricsService());
  const definition = { steps } as unknown as CheckoutSaga;
  const announcer = {
    announce: (changes: StatusChange[]) => Promise.resolve(void announced.push(...changes)),
  } as unknown as SagaAnnouncer;
  const faults = new SagaFaultInjector(crashAt, () => {
    throw new CrashReached('crashed');
  });
  const sut = new SagaRunner(
    store.dataSource(),
    definition,
    store.repository(),
    store.statuses(),
    new SagaTimeline(metrics, clock),
    faults,
    announcer,
    clock,
  );
  sut.onModuleInit();
  return { sut, store, announced, clock };
}

describe(SagaRunner.name, () => {
  beforeAll(() => Logger.overrideLogger(false));
  describe('start-up validation of the step table', () => {
    it('refuses duplicate names, an optional step with a compensation or a batch action, and no steps', () => {
      expect(() => validateSteps([fakeStep('a'), fakeStep('a')])).toThrow(/unique names: a/);
      expect(() =>
        validateSteps([fakeStep('n', undefined, { optional: true, batchAction: undefined })]),
      ).toThrow(/optional and so must have nothing to compensate/);
      expect(() =>
        validateSteps([fakeStep('n', undefined, { optional: true, compensation: undefined })]),
      ).toThrow(/one order at a time/);
      expect(() => validateSteps([])).toThrow(SagaDefinitionError);
    });

    it('refuses a CRASH_AT that names no step, at module init', () => {
      expect(() => build([fakeStep('a')], { step: 'compensate:b', when: 'after' })).toThrow(
        /CRASH_AT names no saga step/,
      );
      expect(() => build([fakeStep('a')], { step: 'compensate:a', when: 'after' })).not.toThrow();
    });
  });

  describe('the saga status table', () => {
    it('allows the listed moves and refuses the others', () => {
      const saga = { status: 'RUNNING' as const } as { status: SagaRecord['status'] };
      moveSaga(saga, 'WAITING');
      moveSaga(saga, 'RUNNING');
      moveSaga(saga, 'COMPLETED');
      expect(() => moveSaga(saga, 'RUNNING')).toThrow(IllegalSagaTransitionError);
      moveSaga(saga, 'COMPENSATING');
      moveSaga(saga, 'COMPENSATED');
      expect(saga.status).toBe('COMPENSATED');
    });
  });

  describe('a batch', () => {
    it('runs each step once for all the orders, in one transaction, and confirms them', async () => {
      const reserve = fakeStep('reserve');
      const charge = fakeStep('charge');
      const { sut, store, announced } = build([reserve, charge]);
      ['o1', 'o2', 'o3'].forEach((id) => store.addOrder(id));

      expect(await sut.advanceMany(['o3', 'o1', 'o2'])).toEqual([]);

      expect(reserve.batches).toEqual([['o1', 'o2', 'o3']]);
      expect(charge.batches).toEqual([['o1', 'o2', 'o3']]);
      expect(store.transactions).toBe(1);
      for (const id of ['o1', 'o2', 'o3']) {
        expect(store.orders.get(id)!.status).toBe('CONFIRMED');
        const saga = store.sagas.get(id)!;
        expect(saga.status).toBe('COMPLETED');
        expect(saga.data.completed).toEqual(['reserve', 'charge']);
        expect(saga.history.map((h) => `${h.step}:${h.outcome}`)).toEqual([
          'reserve:completed',
          'charge:completed',
        ]);
        expect(saga.history[0].startedAt).toBe('2026-12-01T10:00:00.000Z');
      }
      expect(announced.filter((c) => c.orderId === 'o1').map((c) => c.to)).toEqual([
        'PROCESSING',
        'CONFIRMED',
      ]);
    });

    it('compensates only the order whose step failed, in reverse, and confirms the others', async () => {
      const reserve = fakeStep('reserve');
      const hold = fakeStep('hold');
      const charge = fakeStep('charge', (ctx) =>
        ctx.order.id === 'o2' ? new StepFailure('PAYMENT_DECLINED', 'PAYMENT_FAILED') : 'done',
      );
      const { sut, store } = build([reserve, hold, charge]);
      ['o1', 'o2', 'o3'].forEach((id) => store.addOrder(id));

      await sut.advanceMany(['o1', 'o2', 'o3']);

      expect(hold.compensated).toEqual(['o2']);
      expect(reserve.compensated).toEqual(['o2']);
      expect(charge.compensated).toEqual([]);
      expect(store.orders.get('o2')!.status).toBe('PAYMENT_FAILED');
      expect(store.sagas.get('o2')!.status).toBe('COMPENSATED');
      expect(store.sagas.get('o2')!.failureReason).toBe('PAYMENT_DECLINED');
      expect(store.orders.get('o1')!.status).toBe('CONFIRMED');
      expect(store.orders.get('o3')!.status).toBe('CONFIRMED');
    });

    it('leaves an order waiting where its step waits, and resumes it there', async () => {
      let answered = false;
      const reserve = fakeStep('reserve');
      const charge = fakeStep('charge', (ctx) => (ctx.order.id === 'o1' && !answered ? 'wait' : 'done'));
      const { sut, store } = build([reserve, charge]);
      ['o1', 'o2'].forEach((id) => store.addOrder(id));

      await sut.advanceMany(['o1', 'o2']);
      expect(store.sagas.get('o1')!.status).toBe('WAITING');
      expect(store.sagas.get('o2')!.status).toBe('COMPLETED');

      answered = true;
      await sut.advance('o1');
      expect(store.sagas.get('o1')!.status).toBe('COMPLETED');
      expect(reserve.batches).toEqual([['o1', 'o2']]);
      expect(store.sagas.get('o1')!.history.map((h) => `${h.step}:${h.outcome}`)).toEqual([
        'reserve:completed',
        'charge:waiting',
        'charge:completed',
      ]);
    });

    it('falls back to one by one on an unexpected error, and hands back only the poison order', async () => {
      const reserve = fakeStep('reserve', (ctx) => (ctx.order.id === 'o2' ? new Error('poison') : 'done'));
      const { sut, store } = build([reserve, fakeStep('charge')]);
      ['o1', 'o2', 'o3'].forEach((id) => store.addOrder(id));

      const failures = await sut.advanceMany(['o1', 'o2', 'o3']);

      expect(failures.map((f) => [f.orderId, (f.error as Error).message])).toEqual([['o2', 'poison']]);
      expect(reserve.batches).toEqual([['o1', 'o2', 'o3'], ['o1'], ['o2'], ['o3']]);
      expect(store.orders.get('o1')!.status).toBe('CONFIRMED');
      expect(store.orders.get('o3')!.status).toBe('CONFIRMED');
      // The poison order's work was rolled back with its transaction: nothing of it was kept.
      expect(store.orders.get('o2')!.status).toBe('PENDING');
      expect(store.sagas.has('o2')).toBe(false);
    });

    it('records a failed optional step and goes on', async () => {
      const notify = fakeStep('notify', (ctx) => (ctx.order.id === 'o1' ? new Error('smtp down') : 'done'), {
        optional: true,
        compensation: undefined,
        batchAction: undefined,
      });
      const { sut, store } = build([fakeStep('reserve'), notify]);
      ['o1', 'o2'].forEach((id) => store.addOrder(id));

      expect(await sut.advanceMany(['o1', 'o2'])).toEqual([]);
      expect(store.orders.get('o1')!.status).toBe('CONFIRMED');
      expect(store.sagas.get('o1')!.history.at(-1)).toMatchObject({
        step: 'notify',
        outcome: 'failed',
        detail: 'smtp down',
      });
    });
  });

  describe('progress', () => {
    it('reports each step once for the whole batch with the orders done so far, then the batch settled', async () => {
      const reserve = fakeStep('reserve');
      const charge = fakeStep('charge', (ctx) =>
        ctx.order.id === 'o2'
          ? 'wait'
          : ctx.order.id === 'o3'
            ? new StepFailure('PAYMENT_DECLINED', 'PAYMENT_FAILED')
            : 'done',
      );
      const { sut, store } = build([reserve, charge]);
      ['o1', 'o2', 'o3'].forEach((id) => store.addOrder(id));
      const reports: SagaProgress[] = [];

      await sut.advanceMany(['o1', 'o2', 'o3'], { progress: (p) => reports.push(p) });

      expect(reports).toEqual([
        { step: 'reserve', orders: 3, done: 0 },
        { step: 'charge', orders: 3, done: 0 },
        // o2 waits for its payment, o1 is confirmed; o3 is being undone.
        { step: 'compensate:reserve', orders: 3, done: 2 },
        { step: 'settled', orders: 3, done: 3 },
      ]);
    });

    it('a job resumed after a crash reports from the step it resumes at', async () => {
      const steps = [fakeStep('reserve'), fakeStep('hold'), fakeStep('charge')];
      const crashed = build(steps, { step: 'hold', when: 'after' });
      ['o1', 'o2'].forEach((id) => crashed.store.addOrder(id));
      const before: string[] = [];
      await expect(
        crashed.sut.advanceMany(['o1', 'o2'], { progress: (p) => before.push(p.step) }),
      ).rejects.toThrow(CrashReached);
      expect(before).toEqual(['reserve', 'hold']);

      // The job delivered again, to a runner that did not crash, over what committed.
      const resumed = build(steps, undefined, crashed.store);
      const after: SagaProgress[] = [];
      await resumed.sut.advanceMany(['o1', 'o2'], { progress: (p) => after.push(p) });

      expect(after).toEqual([
        { step: 'charge', orders: 2, done: 0 },
        { step: 'settled', orders: 2, done: 2 },
      ]);
    });

    it("a batch that falls back to one order at a time reports the orders done, not each order's steps", async () => {
      const reserve = fakeStep('reserve', (ctx) => (ctx.order.id === 'o2' ? new Error('poison') : 'done'));
      const { sut, store } = build([reserve]);
      ['o1', 'o2', 'o3'].forEach((id) => store.addOrder(id));
      const reports: SagaProgress[] = [];

      const failures = await sut.advanceMany(['o1', 'o2', 'o3'], { progress: (p) => reports.push(p) });

      expect(failures.map((f) => f.orderId)).toEqual(['o2']);
      expect(reports.slice(1)).toEqual([
        { step: 'one by one', orders: 3, done: 0 },
        { step: 'one by one', orders: 3, done: 1 },
        { step: 'one by one', orders: 3, done: 2 },
      ]);
    });
  });

  describe('CRASH_AT', () => {
    it('after a step: the batch commits with the step done, then the process dies', async () => {
      const { sut, store } = build([fakeStep('reserve'), fakeStep('charge')], {
        step: 'reserve',
        when: 'after',
      });
      ['o1', 'o2'].forEach((id) => store.addOrder(id));

      await expect(sut.advanceMany(['o1', 'o2'])).rejects.toThrow(CrashReached);

      for (const id of ['o1', 'o2']) {
        expect(store.sagas.get(id)!.data.completed).toEqual(['reserve']);
        expect(store.sagas.get(id)!.status).toBe('RUNNING');
      }
    });

    it('before a step: the process dies inside the transaction, and nothing of it is kept', async () => {
      const { sut, store } = build([fakeStep('reserve'), fakeStep('charge')], {
        step: 'charge',
        when: 'before',
      });
      ['o1', 'o2'].forEach((id) => store.addOrder(id));

      await expect(sut.advanceMany(['o1', 'o2'])).rejects.toThrow(CrashReached);

      expect(store.sagas.size).toBe(0);
      expect(store.orders.get('o1')!.status).toBe('PENDING');
    });

    it('after a compensation: the undo step commits, then the process dies', async () => {
      const reserve = fakeStep('reserve');
      const charge = fakeStep('charge', () => new StepFailure('PAYMENT_DECLINED', 'PAYMENT_FAILED'));
      const { sut, store } = build([reserve, charge], { step: 'compensate:reserve', when: 'after' });
      store.addOrder('o1');

      await expect(sut.advance('o1')).rejects.toThrow(CrashReached);
      expect(store.sagas.get('o1')!.status).toBe('COMPENSATING');
      expect(store.sagas.get('o1')!.data.compensation!.pending).toEqual([]);
      expect(reserve.compensated).toEqual(['o1']);
    });
  });
});
