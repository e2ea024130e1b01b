import { mulberry32 } from '../../platform/random';
import { EmailNotificationProvider } from './email.provider';
import { NotificationBouncedError, TransientNotificationError } from './notification-provider';

describe(EmailNotificationProvider.name, () => {
  const message = { to: 'ada@example.com', subject: 'Hello', body: '<p>Hi Ada</p>' };

  function create(successRate = 1, keepLast = 3) {
    return new EmailNotificationProvider('Shop <shop@example.com>', undefined, {
      successRate,
      random: mulberry32(3),
      keepLast,
    });
  }

  it('renders the message through nodemailer and keeps it for inspection', async () => {
    const sut = create();
    const sent = await sut.send(message);
    expect(sent.providerMessageId).toMatch(/^<.+@.+>$/);
    expect(sut.sent).toEqual([
      expect.objectContaining({ to: 'ada@example.com', subject: 'Hello', html: '<p>Hi Ada</p>' }),
    ]);
    expect(sut.sent[0].raw).toContain('"subject":"Hello"');
    sut.close();
  });

  it('keeps only the last N messages', async () => {
    const sut = create(1, 2);
    for (const n of [1, 2, 3]) {
      await sut.send({ ...message, subject: `#${n}` });
    }
    expect(sut.sent.map((m) => m.subject)).toEqual(['#2', '#3']);
    sut.close();
  });

  it('bounces recipients at @bounce.test', async () => {
    const sut = create();
    await expect(sut.send({ ...message, to: 'nobody@bounce.test' })).rejects.toBeInstanceOf(
      NotificationBouncedError,
    );
    expect(sut.sent).toHaveLength(0);
    sut.close();
  });

  it('fails transiently at the configured rate', async () => {
    const sut = create(0.95, 0);
    let failures = 0;
    for (let i = 0; i < 2000; i++) {
      await sut.send(message).catch((error: unknown) => {
        expect(error).toBeInstanceOf(TransientNotificationError);
        failures += 1;
      });
    }
    expect(Math.abs(failures / 2000 - 0.05)).toBeLessThan(0.015);
    sut.close();
  });
});
