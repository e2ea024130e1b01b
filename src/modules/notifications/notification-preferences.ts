import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { NotFoundError, UnprocessableError } from '../../platform/http/domain-error';
import { preparedQuery } from '../../platform/database/prepared';
import { Language } from './notification-templates';

/** What a user chose; stored in users.notification_preferences (jsonb) plus preferred_language and phone. */
export interface NotificationPreferences {
  channels: { email: boolean; sms: boolean };
  language: Language;
  /** No shipping updates, welcome messages or marketing: only critical messages about their orders. */
  nonCriticalOptOut: boolean;
  marketingOptOut: boolean;
  phone: string | null;
}

/** A user as the notifier needs them: preferences plus where to reach them. */
export interface NotificationRecipient extends NotificationPreferences {
  userId: string;
  email: string;
  firstName: string;
}

export type PreferencesChange = Partial<Omit<NotificationPreferences, 'channels'>> & {
  channels?: Partial<NotificationPreferences['channels']>;
};

const DEFAULTS = { channels: { email: true, sms: false }, nonCriticalOptOut: false, marketingOptOut: false };

interface UserRow {
  id: string;
  email: string;
  first_name: string;
  phone: string | null;
  preferred_language: Language;
  notification_preferences: Partial<typeof DEFAULTS>;
}

/**
 * Raw SQL on `users`, limited to the notification columns, so this module does not depend on the
 * users module. A row without stored preferences gets the defaults: email on, SMS off, no opt-outs.
 */
@Injectable()
export class NotificationPreferencesRepository {
  async findRecipient(
    db: DataSource | EntityManager,
    userId: string,
  ): Promise<NotificationRecipient | undefined> {
    const { rows } = await preparedQuery<UserRow>(
      db,
      `SELECT id, email, first_name, phone, preferred_language, notification_preferences
       FROM users WHERE id = $1 AND deleted_at IS NULL`,
      [userId],
    );
    return rows[0] ? toRecipient(rows[0]) : undefined;
  }

  /** Merges the change into what is stored, in one statement under the row lock. */
  async update(db: DataSource, userId: string, change: PreferencesChange): Promise<NotificationPreferences> {
    return db.transaction(async (tx) => {
      const [row] = await tx.query<UserRow[]>(
        `SELECT id, email, first_name, phone, preferred_language, notification_preferences
         FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`,
        [userId],
      );
      if (!row) {
        throw new NotFoundError('User not found.');
      }
      const current = toRecipient(row);
      const next: NotificationPreferences = {
        channels: { ...current.channels, ...change.channels },
        language: change.language ?? current.language,
        nonCriticalOptOut: change.nonCriticalOptOut ?? current.nonCriticalOptOut,
        marketingOptOut: change.marketingOptOut ?? current.marketingOptOut,
        phone: change.phone === undefined ? current.phone : change.phone,
      };
      // Checked after the merge, so turning SMS on and adding a phone can be one request.
      if (next.channels.sms && !next.phone) {
        throw new UnprocessableError('SMS needs a phone number.', [
          { field: 'phone', message: 'add a phone number to receive SMS' },
        ]);
      }
      await tx.query(
        `UPDATE users SET notification_preferences = $2, preferred_language = $3, phone = $4, updated_at = now()
         WHERE id = $1`,
        [
          userId,
          JSON.stringify({
            channels: next.channels,
            nonCriticalOptOut: next.nonCriticalOptOut,
            marketingOptOut: next.marketingOptOut,
          }),
          next.language,
          next.phone,
        ],
      );
      return next;
    });
  }
}

export function preferencesOf(recipient: NotificationRecipient): NotificationPreferences {
  const { channels, language, nonCriticalOptOut, marketingOptOut, phone } = recipient;
  return { channels, language, nonCriticalOptOut, marketingOptOut, phone };
}

function toRecipient(row: UserRow): NotificationRecipient {
  const stored = row.notification_preferences ?? {};
  return {
    userId: row.id,
    email: row.email,
    firstName: row.first_name,
    phone: row.phone,
    language: row.preferred_language,
    channels: { ...DEFAULTS.channels, ...stored.channels },
    nonCriticalOptOut: stored.nonCriticalOptOut ?? DEFAULTS.nonCriticalOptOut,
    marketingOptOut: stored.marketingOptOut ?? DEFAULTS.marketingOptOut,
  };
}
