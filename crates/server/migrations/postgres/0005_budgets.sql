-- Request budgets shared by every app instance on one database: one row per
-- (budget, key, fixed window) counting the requests it let through. Only
-- PostgreSQL deployments write here (SQLite has one instance, which counts
-- in memory); the table exists on both so the two schemas stay one.
--
-- The key is a keyed hash (HMAC under the server's blind-index key) of the
-- client's address or network, the guest's address index or the session's
-- token hash: a stolen database names no client. The sweep deletes windows
-- past expires_at.

CREATE TABLE budgets (
    bucket       TEXT NOT NULL,
    key_hash     BYTEA NOT NULL,
    window_start BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    CONSTRAINT budgets_primary_key PRIMARY KEY (bucket, key_hash, window_start),
    CONSTRAINT budgets_bucket_set CHECK (bucket <> ''),
    CONSTRAINT budgets_key_hash_sha256 CHECK (length(key_hash) = 32),
    CONSTRAINT budgets_window_start_time CHECK (window_start >= 0),
    CONSTRAINT budgets_expires_after_start CHECK (expires_at > window_start),
    CONSTRAINT budgets_hits_counted CHECK (hits >= 1)
);

CREATE INDEX budgets_expires_at ON budgets (expires_at);
