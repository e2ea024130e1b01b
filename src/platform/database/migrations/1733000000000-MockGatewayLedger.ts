import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The mock payment gateway's own books, shared by every process (docs/decisions.md, 2026-12-01): what
 * it charged and refunded, apart from the service's `payments` rows. Its unique (kind, key) index is
 * the gateway's idempotency; chaos tests count executed charges per order from it.
 */
export class MockGatewayLedger1733000000000 implements MigrationInterface {
  name = 'MockGatewayLedger1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mock_gateway_ledger (
        id bigserial PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('CHARGE', 'REFUND')),
        reference text NOT NULL UNIQUE,
        idempotency_key text NOT NULL,
        order_id text,
        charge_reference text,
        status text NOT NULL CHECK (status IN ('SUCCEEDED', 'PENDING', 'FAILED')),
        amount_cents bigint NOT NULL CHECK (amount_cents > 0),
        currency text NOT NULL,
        method text,
        failure_code text,
        failure_message text,
        refunds_fail boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        settled_at timestamptz,
        UNIQUE (kind, idempotency_key)
      )`);
    await q.query(`CREATE INDEX mock_gateway_ledger_order_idx ON mock_gateway_ledger (order_id)`);
    await q.query(
      `CREATE INDEX mock_gateway_ledger_charge_idx ON mock_gateway_ledger (charge_reference) WHERE kind = 'REFUND'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS mock_gateway_ledger`);
  }
}
