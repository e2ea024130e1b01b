import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

export interface OrderRow {
  id: string;
  userId: string;
  totalAmount: string;
  currency: string;
  paymentMethod: 'credit_card' | 'debit_card' | 'bank_transfer';
  paymentToken: string | null;
  status: string;
}

export interface UserRow {
  id: string;
  email: string;
  firstName: string;
}

/** A customer row with a unique email; the password hash is a placeholder (no login needed). */
export async function createCustomer(
  db: DataSource,
  overrides: Partial<{
    email: string;
    firstName: string;
    lastName: string;
    phone: string;
    language: 'en' | 'es';
  }> = {},
): Promise<UserRow> {
  const email = overrides.email ?? `customer-${randomUUID()}@example.com`;
  const [row] = await db.query<UserRow[]>(
    `INSERT INTO users (email, password_hash, first_name, last_name, phone, preferred_language)
     VALUES ($1, 'not-a-real-hash', $2, $3, $4, $5)
     RETURNING id, email, first_name AS "firstName"`,
    [
      email,
      overrides.firstName ?? 'Ada',
      overrides.lastName ?? 'Lovelace',
      overrides.phone ?? null,
      overrides.language ?? 'en',
    ],
  );
  return row;
}

/** A bare order (no items) for payment and notification tests; creates its customer unless given one. */
export async function createOrder(
  db: DataSource,
  overrides: Partial<Omit<OrderRow, 'id'>> = {},
): Promise<OrderRow> {
  const userId = overrides.userId ?? (await createCustomer(db)).id;
  const [row] = await db.query<OrderRow[]>(
    `INSERT INTO orders (user_id, status, total_amount, currency, payment_method, payment_token)
     VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, user_id AS "userId", total_amount AS "totalAmount", currency,
               payment_method AS "paymentMethod", payment_token AS "paymentToken", status`,
    [
      userId,
      overrides.status ?? 'PROCESSING',
      overrides.totalAmount ?? '100.00',
      overrides.currency ?? 'USD',
      overrides.paymentMethod ?? 'credit_card',
      overrides.paymentToken ?? null,
    ],
  );
  return row;
}
