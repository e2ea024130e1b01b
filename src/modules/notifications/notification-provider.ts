/**
 * A way to reach a person. Email (nodemailer) and SMS (a mock) implement it; a real SMS gateway
 * would too. Providers throw to report failure: TransientNotificationError is worth a retry, the
 * others are final.
 */
export type NotificationChannel = 'email' | 'sms';

export const NOTIFICATION_PROVIDERS = Symbol('NOTIFICATION_PROVIDERS');

export interface OutgoingMessage {
  to: string;
  subject: string;
  /** HTML for email, plain text for SMS. */
  body: string;
}

export interface SentMessage {
  providerMessageId: string;
}

export interface NotificationProvider {
  readonly channel: NotificationChannel;
  send(message: OutgoingMessage): Promise<SentMessage>;
}

export class TransientNotificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The recipient's server refused the message for good (unknown mailbox, blocked number). */
export class NotificationBouncedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The address or number is not one a message can be sent to at all. */
export class InvalidRecipientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shared by the mock transports: simulated outcomes and a short memory of what was sent. */
export interface SimulationOptions {
  successRate: number;
  random: () => number;
  keepLast: number;
}

/** Recipients in this domain (or numbers ending in 0000 for SMS) bounce: a scripted failure for tests. */
export const BOUNCE_EMAIL_DOMAIN = '@bounce.test';
