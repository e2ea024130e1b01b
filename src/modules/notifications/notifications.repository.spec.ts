import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { createCustomer } from '../../../test/factories/order.factory';
import { loadConfig } from '../../config/config';
import { createDataSource } from '../../platform/database/data-source';
import { NewNotification, NotificationsRepository } from './notifications.repository';

describe(NotificationsRepository.name, () => {
  let dataSource: DataSource;
  let sut: NotificationsRepository;
  let userId: string;

  beforeAll(async () => {
    dataSource = await createDataSource(loadConfig(process.env)).initialize();
    sut = new NotificationsRepository(dataSource);
    userId = (await createCustomer(dataSource)).id;
  });
  afterAll(() => dataSource.destroy());

  const notification = (overrides: Partial<NewNotification> = {}): NewNotification => ({
    userId,
    orderId: null,
    channel: 'email',
    template: 'welcome',
    templateVersion: 1,
    language: 'en',
    priority: 'normal',
    status: 'QUEUED',
    recipient: 'someone@example.com',
    subject: 'Hello',
    body: '<p>Hello</p>',
    dedupeKey: `spec:${randomUUID()}`,
    lastError: null,
    ...overrides,
  });
  const insert = (row: NewNotification) => dataSource.transaction((tx) => sut.insert(tx, row));
  const backdate = (id: string, hours: number) =>
    dataSource.query(
      `UPDATE notifications SET updated_at = now() - make_interval(hours => $2) WHERE id = $1`,
      [id, hours],
    );
  /** Runs `work` in a transaction that is rolled back, so claims leave the shared table as it was. */
  const withoutCommitting = async (work: (tx: EntityManager) => Promise<void>): Promise<void> => {
    const rollback = new Error('rollback');
    await expect(
      dataSource.transaction(async (tx) => {
        await work(tx);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
  };

  describe('insert', () => {
    it('writes a row once per dedupe key; a repeat answers with the first row', async () => {
      const row = notification();
      const first = await insert(row);
      const again = await insert({ ...row, status: 'SKIPPED', body: 'other' });

      expect(first).toEqual({ id: expect.any(String), status: 'QUEUED', inserted: true });
      expect(again).toEqual({ id: first.id, status: 'QUEUED', inserted: false });
      expect(await sut.findById(first.id)).toMatchObject({
        body: '<p>Hello</p>',
        status: 'QUEUED',
        attempts: 0,
      });
    });
  });

  describe('lockForDelivery', () => {
    it('answers the row, "locked" while another transaction holds it, and nothing for an unknown id', async () => {
      const { id } = await insert(notification());
      await withoutCommitting(async (holder) => {
        expect(await sut.lockForDelivery(holder, id)).toMatchObject({ id, status: 'QUEUED' });
        await withoutCommitting(async (other) => {
          expect(await sut.lockForDelivery(other, id)).toBe('locked');
          expect(await sut.lockForDelivery(other, randomUUID())).toBeUndefined();
        });
      });
    });
  });

  describe('recordAttempt and finish', () => {
    it('counts a failed attempt and keeps the row QUEUED; finish records the outcome', async () => {
      const { id } = await insert(notification());
      await dataSource.transaction(async (tx) => {
        expect(await sut.recordAttempt(tx, id, 'timeout')).toMatchObject({ status: 'QUEUED', attempts: 1 });
        expect(
          await sut.finish(tx, id, 'SENT', { attempted: true, providerMessageId: 'msg-1' }),
        ).toMatchObject({
          status: 'SENT',
          attempts: 2,
          providerMessageId: 'msg-1',
          sentAt: expect.any(Date),
        });
      });
    });

    it('does not count a skipped message as an attempt', async () => {
      const { id } = await insert(notification());
      const skipped = await dataSource.transaction((tx) =>
        sut.finish(tx, id, 'SKIPPED', { attempted: false, lastError: 'rate_limited' }),
      );
      expect(skipped).toMatchObject({
        status: 'SKIPPED',
        attempts: 0,
        lastError: 'rate_limited',
        sentAt: null,
      });
    });
  });

  describe('claimStale', () => {
    it('claims QUEUED rows untouched for the given time, once: a claim touches them', async () => {
      const stale = await insert(notification());
      const fresh = await insert(notification());
      const sent = await insert(notification());
      await dataSource.transaction((tx) => sut.finish(tx, sent.id, 'SENT', { attempted: true }));
      await Promise.all([backdate(stale.id, 2), backdate(sent.id, 2)]);
      const ours = (rows: { id: string }[]) =>
        rows.filter((r) => [stale.id, fresh.id, sent.id].includes(r.id));

      await withoutCommitting(async (tx) => {
        expect(ours(await sut.claimStale(tx, 3600, 100))).toEqual([{ id: stale.id, priority: 'normal' }]);
        expect(ours(await sut.claimStale(tx, 3600, 100))).toEqual([]);
      });
    });
  });

  describe('markFailed', () => {
    it('ends a QUEUED row FAILED and leaves a finished one alone', async () => {
      const queued = await insert(notification({ channel: 'sms', recipient: '+14155552671' }));
      expect(await sut.markFailed(queued.id, 'attempts exhausted')).toBe('sms');
      expect(await sut.markFailed(queued.id, 'again')).toBeUndefined();
      expect(await sut.findById(queued.id)).toMatchObject({
        status: 'FAILED',
        lastError: 'attempts exhausted',
      });
    });
  });
});
