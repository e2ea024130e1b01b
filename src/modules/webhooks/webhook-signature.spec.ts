import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, secretKeyOf, signatureHeader, signWebhook } from './webhook-signature';

describe('webhook signature', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = 1614265330;
  const body = '{"test": 2432232314}';

  it('matches the Standard Webhooks reference vector', () => {
    expect(signWebhook(secret, id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('is what the standardwebhooks package signs and verifies', () => {
    const sut = signWebhook(secret, id, timestamp, body);
    expect(sut).toBe(new Webhook(secret).sign(id, new Date(timestamp * 1000), body));
    const now = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(now),
      'webhook-signature': signatureHeader([secret], id, now, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual({ test: 2432232314 });
  });

  it('signs with every given secret, space-separated (rotation)', () => {
    const other = newWebhookSecret();
    const header = signatureHeader([secret, other], id, timestamp, body);
    expect(header.split(' ')).toEqual([
      signWebhook(secret, id, timestamp, body),
      signWebhook(other, id, timestamp, body),
    ]);
  });

  it('changes with any byte of id, timestamp or body', () => {
    const sut = signWebhook(secret, id, timestamp, body);
    expect(signWebhook(secret, `${id}x`, timestamp, body)).not.toBe(sut);
    expect(signWebhook(secret, id, timestamp + 1, body)).not.toBe(sut);
    expect(signWebhook(secret, id, timestamp, `${body} `)).not.toBe(sut);
  });

  it('makes secrets of whsec_ and 32 random bytes', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_/);
    expect(secretKeyOf(a)).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(a);
    expect(() => secretKeyOf('nope')).toThrow('whsec_');
  });
});
