import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { randomBytes } from 'node:crypto';
import {
  InvalidRecipientError,
  NotificationBouncedError,
  NotificationProvider,
  OutgoingMessage,
  SentMessage,
  SimulationOptions,
  TransientNotificationError,
} from './notification-provider';

export interface RecordedSms {
  messageId: string;
  to: string;
  text: string;
}

/** SMS body limit of one concatenated message we allow (about three segments). */
const MAX_SMS_LENGTH = 480;

/**
 * A mock SMS gateway: refuses anything that is not a valid E.164 number (libphonenumber-js), bounces
 * numbers ending in 0000 (unreachable handsets), succeeds at the configured rate and keeps the last
 * N messages for inspection.
 */
export class SmsNotificationProvider implements NotificationProvider {
  readonly channel = 'sms' as const;
  private readonly recorded: RecordedSms[] = [];

  constructor(private readonly simulation: SimulationOptions) {}

  get sent(): readonly RecordedSms[] {
    return this.recorded;
  }

  async send(message: OutgoingMessage): Promise<SentMessage> {
    const to = toE164(message.to);
    if (to === undefined) {
      throw new InvalidRecipientError(`${message.to} is not a valid E.164 phone number`);
    }
    if (to.endsWith('0000')) {
      throw new NotificationBouncedError(`${to} is unreachable`);
    }
    if (this.simulation.random() >= this.simulation.successRate) {
      throw new TransientNotificationError('SMS gateway busy (simulated)');
    }
    const messageId = `SM${randomBytes(16).toString('hex')}`;
    this.recorded.push({ messageId, to, text: message.body.slice(0, MAX_SMS_LENGTH) });
    if (this.recorded.length > this.simulation.keepLast) {
      this.recorded.splice(0, this.recorded.length - this.simulation.keepLast);
    }
    return { providerMessageId: messageId };
  }
}

/** The number in E.164 form when it is a valid international number written with its +country code. */
export function toE164(phone: string): string | undefined {
  if (!phone.trim().startsWith('+')) {
    return undefined;
  }
  const parsed = parsePhoneNumberFromString(phone.trim());
  return parsed?.isValid() ? parsed.number : undefined;
}
