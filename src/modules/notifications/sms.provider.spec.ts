import { mulberry32 } from '../../platform/random';
import {
  InvalidRecipientError,
  NotificationBouncedError,
  TransientNotificationError,
} from './notification-provider';
import { SmsNotificationProvider, toE164 } from './sms.provider';

describe(SmsNotificationProvider.name, () => {
  const create = (successRate = 1) =>
    new SmsNotificationProvider({ successRate, random: mulberry32(5), keepLast: 10 });

  it('sends to a valid E.164 number and records the text', async () => {
    const sut = create();
    const sent = await sut.send({ to: '+34 612 34 56 78', subject: 'ignored', body: 'Your order shipped' });
    expect(sent.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(sut.sent).toEqual([
      { messageId: sent.providerMessageId, to: '+34612345678', text: 'Your order shipped' },
    ]);
  });

  it.each(['612345678', '+1 555', 'not a number', '+999123'])('refuses %p as not E.164', async (to) => {
    await expect(create().send({ to, subject: '', body: 'x' })).rejects.toBeInstanceOf(InvalidRecipientError);
  });

  it('bounces unreachable numbers and fails transiently at the configured rate', async () => {
    await expect(create().send({ to: '+14155550000', subject: '', body: 'x' })).rejects.toBeInstanceOf(
      NotificationBouncedError,
    );
    await expect(create(0).send({ to: '+14155552671', subject: '', body: 'x' })).rejects.toBeInstanceOf(
      TransientNotificationError,
    );
  });

  it('normalises numbers to E.164', () => {
    expect(toE164('+1 (415) 555-2671')).toBe('+14155552671');
    expect(toE164('4155552671')).toBeUndefined();
  });
});
