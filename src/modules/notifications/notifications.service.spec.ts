import { randomUUID } from 'node:crypto';
import { createCustomer, createOrder } from '../../../test/factories/order.factory';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { EmailNotificationProvider } from './email.provider';
import { TransientNotificationError } from './notification-provider';
import { NotificationPreferencesRepository } from './notification-preferences';
import { notificationJobPriority } from '../../platform/queue/job-priority';
import { NotificationRequest, NotificationsService } from './notifications.service';
import { SmsNotificationProvider } from './sms.provider';

const CONFIRMATION = {
  template: 'order-confirmation' as const,
  data: {
    orderNumber: 'AOP-7',
    currency: 'USD',
    totalAmount: '25.00',
    items: [{ name: 'Mug', quantity: 2, unitPrice: '12.50', lineTotal: '25.00' }],
  },
};

describe(NotificationsService.name, () => {
  let app: TestApp;
  let sut: NotificationsService;
  let email: EmailNotificationProvider;

  beforeAll(async () => {
    app = await startTestApp({ NOTIFICATION_SUCCESS_RATE: '1', NOTIFICATION_USER_HOURLY_LIMIT: '2' });
    sut = app.get(NotificationsService);
    email = app.get(EmailNotificationProvider);
  });
  afterAll(() => app.close());

  const request = (req: NotificationRequest) => app.dataSource.transaction((tx) => sut.request(tx, req));
  const outboxFor = (notificationId: string) =>
    app.dataSource.query(
      `SELECT payload FROM outbox_events WHERE event_type = 'NotificationRequested' AND aggregate_id = $1`,
      [notificationId],
    );
  const prefs = () => app.get(NotificationPreferencesRepository);

  describe('request', () => {
    it('queues one email with an outbox event, rendered in the user language', async () => {
      const user = await createCustomer(app.dataSource, { firstName: 'Lucía', language: 'es' });
      const order = await createOrder(app.dataSource, { userId: user.id });
      const [queued] = await request({ userId: user.id, orderId: order.id, ...CONFIRMATION });

      expect(queued).toMatchObject({ channel: 'email', status: 'QUEUED', duplicate: false });
      const record = await sut.findById(queued.id);
      expect(record).toMatchObject({
        recipient: user.email,
        language: 'es',
        priority: 'critical',
        subject: 'Pedido AOP-7 confirmado',
        attempts: 0,
      });
      expect(record?.body).toContain('¡Gracias, Lucía!');
      expect(await outboxFor(queued.id)).toEqual([
        { payload: { notificationId: queued.id, priority: 'critical' } },
      ]);
    });

    it('never notifies twice for the same template and order', async () => {
      const order = await createOrder(app.dataSource);
      const [first] = await request({ userId: order.userId, orderId: order.id, ...CONFIRMATION });
      const [again] = await request({ userId: order.userId, orderId: order.id, ...CONFIRMATION });
      expect(again).toEqual({ ...first, duplicate: true });
      expect(await outboxFor(first.id)).toHaveLength(1);
    });

    it('adds an SMS when the user enabled it with a phone number', async () => {
      const user = await createCustomer(app.dataSource);
      await prefs().update(app.dataSource, user.id, { channels: { sms: true }, phone: '+14155552671' });
      const order = await createOrder(app.dataSource, { userId: user.id });
      const results = await request({ userId: user.id, orderId: order.id, ...CONFIRMATION });
      expect(results.map((r) => [r.channel, r.status])).toEqual([
        ['email', 'QUEUED'],
        ['sms', 'QUEUED'],
      ]);
      expect((await sut.findById(results[1].id))?.recipient).toBe('+14155552671');
    });

    it('skips non-critical messages for users who opted out, but still sends critical ones', async () => {
      const user = await createCustomer(app.dataSource);
      await prefs().update(app.dataSource, user.id, { nonCriticalOptOut: true });
      const order = await createOrder(app.dataSource, { userId: user.id });

      const [shipping] = await request({
        userId: user.id,
        orderId: order.id,
        template: 'shipping-update',
        data: { orderNumber: 'AOP-8', trackingNumber: 'TRK1' },
      });
      expect(shipping.status).toBe('SKIPPED');
      expect(await outboxFor(shipping.id)).toEqual([]);
      expect((await sut.findById(shipping.id))?.lastError).toBe('opted out of non-critical messages');

      const [confirmation] = await request({ userId: user.id, orderId: order.id, ...CONFIRMATION });
      expect(confirmation.status).toBe('QUEUED');
    });

    it('skips marketing for users who opted out of marketing only', async () => {
      const user = await createCustomer(app.dataSource);
      await prefs().update(app.dataSource, user.id, { marketingOptOut: true });
      const [marketing] = await request({
        userId: user.id,
        template: 'welcome',
        data: {},
        priority: 'marketing',
      });
      expect(marketing.status).toBe('SKIPPED');
      const [normal] = await request({
        userId: user.id,
        template: 'welcome',
        data: {},
        dedupeKey: `w2:${user.id}`,
      });
      expect(normal.status).toBe('QUEUED');
    });

    it('falls back to email for critical messages when every channel is off', async () => {
      const user = await createCustomer(app.dataSource);
      await prefs().update(app.dataSource, user.id, { channels: { email: false, sms: false } });
      const order = await createOrder(app.dataSource, { userId: user.id });
      const [critical] = await request({ userId: user.id, orderId: order.id, ...CONFIRMATION });
      expect(critical).toMatchObject({ channel: 'email', status: 'QUEUED' });
      const [welcome] = await request({ userId: user.id, template: 'welcome', data: {} });
      expect(welcome.status).toBe('SKIPPED');
    });
  });

  describe('deliver', () => {
    it('sends once and records SENT; a second delivery sends nothing', async () => {
      const order = await createOrder(app.dataSource);
      const [queued] = await request({ userId: order.userId, orderId: order.id, ...CONFIRMATION });

      const sent = await sut.deliver(queued.id);
      expect(sent).toMatchObject({ status: 'SENT', attempts: 1, providerMessageId: expect.any(String) });
      expect(sent.sentAt).toBeInstanceOf(Date);
      const copies = () => email.sent.filter((m) => m.messageId === sent.providerMessageId).length;
      expect(copies()).toBe(1);

      expect(await sut.deliver(queued.id)).toEqual(sent);
      const sameRecipient = email.sent.filter((m) => m.to === sent.recipient);
      expect(sameRecipient).toHaveLength(1);
    });

    it('records a bounce as final', async () => {
      const user = await createCustomer(app.dataSource, { email: `gone-${randomUUID()}@bounce.test` });
      const [queued] = await request({ userId: user.id, template: 'welcome', data: {} });
      const bounced = await sut.deliver(queued.id);
      expect(bounced).toMatchObject({
        status: 'BOUNCED',
        attempts: 1,
        lastError: expect.stringMatching(/550/),
      });
      expect(await sut.deliver(queued.id)).toMatchObject({ status: 'BOUNCED', attempts: 1 });
    });

    it('marks a message to an invalid phone number FAILED', async () => {
      const user = await createCustomer(app.dataSource, { phone: '+1 555' });
      await app.dataSource.query(
        `UPDATE users SET notification_preferences = '{"channels":{"email":false,"sms":true}}' WHERE id = $1`,
        [user.id],
      );
      const order = await createOrder(app.dataSource, { userId: user.id });
      const [sms] = await request({ userId: user.id, orderId: order.id, ...CONFIRMATION });
      expect(sms.channel).toBe('sms');
      expect(await sut.deliver(sms.id)).toMatchObject({
        status: 'FAILED',
        lastError: expect.stringMatching(/E\.164/),
      });
    });

    it('lets a user receive at most the hourly limit of non-critical messages', async () => {
      const user = await createCustomer(app.dataSource);
      const statuses: string[] = [];
      for (const n of [1, 2, 3]) {
        const [queued] = await request({
          userId: user.id,
          template: 'welcome',
          data: {},
          dedupeKey: `rl${n}:${user.id}`,
        });
        statuses.push((await sut.deliver(queued.id)).status);
      }
      expect(statuses).toEqual(['SENT', 'SENT', 'SKIPPED']);
      const order = await createOrder(app.dataSource, { userId: user.id });
      const [critical] = await request({ userId: user.id, orderId: order.id, ...CONFIRMATION });
      expect((await sut.deliver(critical.id)).status).toBe('SENT');
    });

    it('sends the welcome message when a user registers', async () => {
      const user = await createCustomer(app.dataSource, { firstName: 'Grace' });
      const [welcome] = await sut.onUserRegistered({
        userId: user.id,
        email: user.email,
        firstName: 'Grace',
        language: 'en',
      });
      expect(
        (
          await sut.onUserRegistered({
            userId: user.id,
            email: user.email,
            firstName: 'Grace',
            language: 'en',
          })
        )[0],
      ).toMatchObject({ id: welcome.id, duplicate: true });
      const sent = await sut.deliver(welcome.id);
      expect(sent.subject).toBe('Welcome, Grace!');
    });
  });

  describe('transient failures', () => {
    let flaky: TestApp;

    beforeAll(async () => {
      flaky = await startTestApp({ NOTIFICATION_SUCCESS_RATE: '0' });
    });
    afterAll(() => flaky.close());

    it('throws a retryable error, keeps the notification QUEUED, and ends FAILED when retries run out', async () => {
      const service = flaky.get(NotificationsService);
      const order = await createOrder(flaky.dataSource);
      const [queued] = await flaky.dataSource.transaction((tx) =>
        service.request(tx, { userId: order.userId, orderId: order.id, ...CONFIRMATION }),
      );
      await expect(service.deliver(queued.id)).rejects.toBeInstanceOf(TransientNotificationError);
      await expect(service.deliver(queued.id)).rejects.toBeInstanceOf(TransientNotificationError);
      expect(await service.findById(queued.id)).toMatchObject({
        status: 'QUEUED',
        attempts: 2,
        lastError: expect.stringMatching(/421/),
      });
      await service.markFailed(queued.id, 'attempts exhausted');
      expect(await service.findById(queued.id)).toMatchObject({
        status: 'FAILED',
        lastError: 'attempts exhausted',
      });
    });
  });

  it('maps priorities to BullMQ job priorities, critical first', () => {
    expect(notificationJobPriority('critical')).toBeLessThan(notificationJobPriority('normal'));
    expect(notificationJobPriority('normal')).toBeLessThan(notificationJobPriority('marketing'));
  });

  it('exposes the SMS mock for inspection', () => {
    expect(app.get(SmsNotificationProvider).sent).toEqual(expect.any(Array));
  });
});
