import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole schema of DESIGN §4 in one place. Invariants that the database can enforce are enforced
 * here (CHECK constraints, unique indexes), so a bug in application code fails loudly instead of
 * overselling or charging twice.
 */
export class InitialSchema1732300000000 implements MigrationInterface {
  name = 'InitialSchema1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);

    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email varchar(254) NOT NULL CHECK (email = lower(email)),
        password_hash text NOT NULL,
        first_name varchar(100) NOT NULL,
        last_name varchar(100) NOT NULL,
        role varchar(20) NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
        is_active boolean NOT NULL DEFAULT true,
        phone varchar(20),
        preferred_language varchar(5) NOT NULL DEFAULT 'en' CHECK (preferred_language IN ('en', 'es')),
        notification_preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
        last_login_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
    await q.query(`CREATE INDEX users_created_at_idx ON users (created_at DESC)`);
    await q.query(
      `CREATE INDEX users_search_trgm_idx ON users USING gin ((email || ' ' || first_name || ' ' || last_name) gin_trgm_ops)`,
    );

    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        family_id uuid NOT NULL,
        token_hash char(64) NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash)`);
    await q.query(`CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id)`);
    await q.query(`CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id)`);
    await q.query(`CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at)`);

    await q.query(`
      CREATE TABLE products (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        sku varchar(64) NOT NULL,
        name varchar(200) NOT NULL,
        description text NOT NULL DEFAULT '',
        price numeric(12,2) NOT NULL CHECK (price > 0),
        currency char(3) NOT NULL DEFAULT 'USD',
        category varchar(100),
        is_active boolean NOT NULL DEFAULT true,
        search_vector tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('english', coalesce(name, '')), 'A') ||
          setweight(to_tsvector('english', coalesce(description, '')), 'B')
        ) STORED,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX products_sku_key ON products (sku)`);
    await q.query(`CREATE INDEX products_search_vector_idx ON products USING gin (search_vector)`);
    await q.query(
      `CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops, description gin_trgm_ops)`,
    );
    await q.query(
      `CREATE INDEX products_active_created_idx ON products (created_at DESC, id) WHERE is_active AND deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX products_active_price_idx ON products (price, id) WHERE is_active AND deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX products_active_name_idx ON products (name, id) WHERE is_active AND deleted_at IS NULL`,
    );
    await q.query(`CREATE INDEX products_lower_name_prefix_idx ON products (lower(name) text_pattern_ops)`);

    await q.query(`
      CREATE TABLE inventory (
        product_id uuid PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
        quantity integer NOT NULL DEFAULT 0 CHECK (quantity >= 0),
        reserved_quantity integer NOT NULL DEFAULT 0 CHECK (reserved_quantity >= 0),
        low_stock_threshold integer NOT NULL DEFAULT 10 CHECK (low_stock_threshold >= 0),
        version integer NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT inventory_reserved_le_quantity CHECK (reserved_quantity <= quantity)
      )`);
    await q.query(`CREATE INDEX inventory_low_stock_idx ON inventory ((quantity - reserved_quantity))`);

    await q.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id),
        status varchar(20) NOT NULL DEFAULT 'PENDING' CHECK (status IN
          ('PENDING', 'PROCESSING', 'PAYMENT_PENDING', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'PAYMENT_FAILED', 'REFUNDED')),
        total_amount numeric(12,2) NOT NULL CHECK (total_amount >= 0),
        currency char(3) NOT NULL DEFAULT 'USD',
        payment_method varchar(20) NOT NULL DEFAULT 'credit_card' CHECK (payment_method IN ('credit_card', 'debit_card', 'bank_transfer')),
        payment_token varchar(100),
        failure_reason varchar(100),
        failure_detail text,
        tracking_number varchar(100),
        idempotency_key varchar(255),
        correlation_id varchar(128),
        version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        confirmed_at timestamptz,
        shipped_at timestamptz,
        delivered_at timestamptz,
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC)`);
    await q.query(`CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC)`);
    await q.query(`CREATE INDEX orders_created_idx ON orders (created_at DESC)`);
    await q.query(
      `CREATE UNIQUE INDEX orders_user_idempotency_key ON orders (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE order_items (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
        product_id uuid NOT NULL REFERENCES products(id),
        sku varchar(64) NOT NULL,
        product_name varchar(200) NOT NULL,
        unit_price numeric(12,2) NOT NULL CHECK (unit_price > 0),
        quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
        line_total numeric(12,2) NOT NULL CHECK (line_total >= 0),
        CONSTRAINT order_items_order_product_key UNIQUE (order_id, product_id)
      )`);
    await q.query(`CREATE INDEX order_items_product_idx ON order_items (product_id)`);

    // Every status change of an order: feeds the SSE stream (id = Last-Event-ID) and the timelines.
    await q.query(`
      CREATE TABLE order_status_history (
        id bigserial PRIMARY KEY,
        order_id uuid NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
        from_status varchar(20),
        to_status varchar(20) NOT NULL,
        reason varchar(100),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX order_status_history_order_idx ON order_status_history (order_id, id)`);

    await q.query(`
      CREATE TABLE inventory_reservations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id uuid REFERENCES orders(id) ON DELETE CASCADE,
        product_id uuid NOT NULL REFERENCES products(id),
        quantity integer NOT NULL CHECK (quantity > 0),
        status varchar(20) NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'CONFIRMED', 'RELEASED', 'EXPIRED')),
        expires_at timestamptz NOT NULL,
        release_reason varchar(100),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX inventory_reservations_order_product_key ON inventory_reservations (order_id, product_id) WHERE order_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX inventory_reservations_active_expiry_idx ON inventory_reservations (expires_at) WHERE status = 'ACTIVE'`,
    );
    await q.query(
      `CREATE INDEX inventory_reservations_product_idx ON inventory_reservations (product_id) WHERE status = 'ACTIVE'`,
    );

    // Append-only ledger: quantity and reserved_quantity always equal the sums of their deltas.
    await q.query(`
      CREATE TABLE stock_movements (
        id bigserial PRIMARY KEY,
        product_id uuid NOT NULL REFERENCES products(id),
        type varchar(20) NOT NULL CHECK (type IN ('REPLENISH', 'RESERVE', 'RELEASE', 'CONFIRM', 'EXPIRE', 'ADJUST', 'RESTOCK')),
        quantity_delta integer NOT NULL,
        reserved_delta integer NOT NULL,
        order_id uuid,
        reservation_id uuid,
        actor varchar(100) NOT NULL,
        reason varchar(200),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX stock_movements_product_idx ON stock_movements (product_id, id DESC)`);
    await q.query(
      `CREATE INDEX stock_movements_order_idx ON stock_movements (order_id) WHERE order_id IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE outbox_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        aggregate_type varchar(50) NOT NULL,
        aggregate_id uuid NOT NULL,
        event_type varchar(100) NOT NULL,
        schema_version integer NOT NULL DEFAULT 1,
        payload jsonb NOT NULL,
        correlation_id varchar(128),
        created_at timestamptz NOT NULL DEFAULT now(),
        available_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        parked_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX outbox_events_pending_idx ON outbox_events (available_at) WHERE processed_at IS NULL AND parked_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX outbox_events_aggregate_idx ON outbox_events (aggregate_type, aggregate_id, created_at)`,
    );
    await q.query(
      `CREATE INDEX outbox_events_processed_idx ON outbox_events (processed_at) WHERE processed_at IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE saga_state (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
        saga_type varchar(50) NOT NULL DEFAULT 'checkout',
        status varchar(20) NOT NULL DEFAULT 'RUNNING' CHECK (status IN
          ('RUNNING', 'WAITING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'NEEDS_ATTENTION')),
        current_step varchar(50),
        step_history jsonb NOT NULL DEFAULT '[]'::jsonb,
        data jsonb NOT NULL DEFAULT '{}'::jsonb,
        completed boolean NOT NULL DEFAULT false,
        compensated boolean NOT NULL DEFAULT false,
        failure_reason varchar(100),
        attempts integer NOT NULL DEFAULT 0,
        version integer NOT NULL DEFAULT 0,
        started_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CONSTRAINT saga_state_order_type_key UNIQUE (order_id, saga_type)
      )`);
    await q.query(
      `CREATE INDEX saga_state_unfinished_idx ON saga_state (updated_at) WHERE status IN ('RUNNING', 'WAITING', 'COMPENSATING')`,
    );

    await q.query(`
      CREATE TABLE idempotency_records (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key varchar(255) NOT NULL,
        request_fingerprint char(64) NOT NULL,
        status varchar(20) NOT NULL DEFAULT 'IN_PROGRESS' CHECK (status IN ('IN_PROGRESS', 'COMPLETED')),
        response_status integer,
        response_body jsonb,
        resource_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        expires_at timestamptz NOT NULL,
        CONSTRAINT idempotency_records_user_key UNIQUE (user_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_records_expires_idx ON idempotency_records (expires_at)`);

    // The inbox: a consumer records each message id it has applied, in the transaction of its effect.
    await q.query(`
      CREATE TABLE processed_messages (
        consumer varchar(100) NOT NULL,
        message_id varchar(255) NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
      )`);
    await q.query(`CREATE INDEX processed_messages_processed_idx ON processed_messages (processed_at)`);

    await q.query(`
      CREATE TABLE dead_letters (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        queue varchar(100) NOT NULL,
        job_name varchar(100) NOT NULL,
        job_id varchar(255),
        payload jsonb NOT NULL,
        error text NOT NULL,
        failure_reason varchar(100),
        attempts integer NOT NULL DEFAULT 0,
        status varchar(20) NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'REPLAYED', 'DISCARDED')),
        replay_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX dead_letters_queue_created_idx ON dead_letters (queue, created_at DESC)`);
    await q.query(`CREATE INDEX dead_letters_status_idx ON dead_letters (status, created_at DESC)`);

    await q.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL REFERENCES orders(id),
        kind varchar(10) NOT NULL CHECK (kind IN ('CHARGE', 'REFUND')),
        status varchar(20) NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
        amount numeric(12,2) NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        method varchar(20) NOT NULL,
        provider varchar(50) NOT NULL,
        provider_reference varchar(255),
        idempotency_key varchar(255) NOT NULL,
        failure_code varchar(100),
        failure_message text,
        attempts integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX payments_idempotency_key ON payments (idempotency_key)`);
    await q.query(`CREATE INDEX payments_order_idx ON payments (order_id)`);
    // At most one live charge per order: the database refuses a double charge.
    await q.query(
      `CREATE UNIQUE INDEX payments_one_charge_per_order ON payments (order_id) WHERE kind = 'CHARGE' AND status IN ('PENDING', 'SUCCEEDED')`,
    );

    await q.query(`
      CREATE TABLE notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        order_id uuid REFERENCES orders(id) ON DELETE SET NULL,
        channel varchar(10) NOT NULL CHECK (channel IN ('email', 'sms')),
        template varchar(50) NOT NULL,
        template_version integer NOT NULL DEFAULT 1,
        language varchar(5) NOT NULL DEFAULT 'en',
        priority varchar(20) NOT NULL DEFAULT 'critical' CHECK (priority IN ('critical', 'normal', 'marketing')),
        status varchar(20) NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'SENT', 'FAILED', 'BOUNCED', 'SKIPPED')),
        recipient varchar(254) NOT NULL,
        subject text,
        body text,
        dedupe_key varchar(255) NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        provider_message_id varchar(255),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX notifications_dedupe_key ON notifications (dedupe_key)`);
    await q.query(`CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC)`);
    await q.query(
      `CREATE INDEX notifications_order_idx ON notifications (order_id) WHERE order_id IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        actor_id uuid,
        action varchar(100) NOT NULL,
        subject_type varchar(50) NOT NULL,
        subject_id varchar(255),
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'audit_log',
      'notifications',
      'payments',
      'dead_letters',
      'processed_messages',
      'idempotency_records',
      'saga_state',
      'outbox_events',
      'stock_movements',
      'inventory_reservations',
      'order_status_history',
      'order_items',
      'orders',
      'inventory',
      'products',
      'refresh_tokens',
      'users',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
