// Test defaults, applied in every Jest worker before any module loads. The database URL and queue
// prefix of this run come from global-setup (inherited through process.env).
process.env.NODE_ENV ??= 'test';
process.env.LOG_LEVEL ??= 'silent';
process.env.SEED_DEMO ??= 'false';
process.env.JWT_SECRET ??= 'test-secret-test-secret-test-secret-0123456789';
process.env.PAYMENT_LATENCY_MIN_MS ??= '0';
process.env.PAYMENT_LATENCY_MAX_MS ??= '0';
process.env.RATE_LIMIT_PER_MINUTE ??= '0';
// Webhook receivers in the tests listen on 127.0.0.1 over plain http (SSRF specs turn these off for their app).
process.env.WEBHOOK_ALLOW_INSECURE ??= 'true';
process.env.WEBHOOK_ALLOW_PRIVATE_TARGETS ??= 'true';
