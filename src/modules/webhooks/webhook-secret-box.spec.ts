import { randomBytes } from 'node:crypto';
import { WebhookSecretBox } from './webhook-secret-box';

describe(WebhookSecretBox.name, () => {
  const sut = new WebhookSecretBox(randomBytes(32));
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  it('opens what it sealed, and the sealed form does not contain the secret', () => {
    const sealed = sut.seal(secret);
    expect(sealed).not.toContain('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(sut.open(sealed)).toBe(secret);
    expect(sut.seal(secret)).not.toBe(sealed);
  });

  it('refuses a tampered value and another key', () => {
    const sealed = sut.seal(secret);
    const parts = sealed.split(':');
    parts[3] = Buffer.from('whsec_forged').toString('base64');
    expect(() => sut.open(parts.join(':'))).toThrow();
    expect(() => new WebhookSecretBox(randomBytes(32)).open(sealed)).toThrow();
  });
});
