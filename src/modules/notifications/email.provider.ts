import { createTransport, Transporter } from 'nodemailer';
import {
  BOUNCE_EMAIL_DOMAIN,
  NotificationBouncedError,
  NotificationProvider,
  OutgoingMessage,
  SentMessage,
  SimulationOptions,
  TransientNotificationError,
} from './notification-provider';

export interface RecordedEmail {
  messageId: string;
  from: string;
  to: string;
  subject: string;
  html: string;
  /** The full RFC 822 message as nodemailer rendered it (JSON transport). */
  raw: string;
}

/**
 * Email through nodemailer. With SMTP_URL it sends for real; otherwise the JSON transport renders the
 * complete message without sending it, keeps the last N for tests and local inspection, and simulates
 * the failures a mail service has (a success rate, bounces for `@bounce.test`).
 */
export class EmailNotificationProvider implements NotificationProvider {
  readonly channel = 'email' as const;
  private readonly transport: Transporter;
  private readonly simulated: boolean;
  private readonly recorded: RecordedEmail[] = [];

  constructor(
    private readonly from: string,
    smtpUrl: string | undefined,
    private readonly simulation: SimulationOptions,
  ) {
    this.simulated = smtpUrl === undefined;
    this.transport =
      smtpUrl === undefined ? createTransport({ jsonTransport: true }) : createTransport(smtpUrl);
  }

  get sent(): readonly RecordedEmail[] {
    return this.recorded;
  }

  async send(message: OutgoingMessage): Promise<SentMessage> {
    if (this.simulated) {
      if (message.to.toLowerCase().endsWith(BOUNCE_EMAIL_DOMAIN)) {
        throw new NotificationBouncedError(`550 5.1.1 <${message.to}>: mailbox does not exist`);
      }
      if (this.simulation.random() >= this.simulation.successRate) {
        throw new TransientNotificationError('421 4.7.0 Try again later (simulated)');
      }
    }
    try {
      const info = (await this.transport.sendMail({
        from: this.from,
        to: message.to,
        subject: message.subject,
        html: message.body,
      })) as { messageId: string; message?: string };
      if (this.simulated) {
        this.remember({
          messageId: info.messageId,
          from: this.from,
          to: message.to,
          subject: message.subject,
          html: message.body,
          raw: info.message ?? '',
        });
      }
      return { providerMessageId: info.messageId };
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      if (code !== undefined && code >= 500) {
        throw new NotificationBouncedError((error as Error).message);
      }
      throw new TransientNotificationError((error as Error).message);
    }
  }

  close(): void {
    this.transport.close();
  }

  private remember(email: RecordedEmail): void {
    this.recorded.push(email);
    if (this.recorded.length > this.simulation.keepLast) {
      this.recorded.splice(0, this.recorded.length - this.simulation.keepLast);
    }
  }
}
