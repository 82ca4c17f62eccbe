-- latchkey schema, SQLite. Times are milliseconds since the Unix epoch.
-- Secrets never stand here in clear: e-mail addresses and outbox mail are
-- sealed with keys from the secrets file; grant ids and session tokens are
-- stored as SHA-256 hashes; messages and keys are client-side ciphertexts.

CREATE TABLE members (
    id              TEXT PRIMARY KEY,
    handle          TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    email_sealed    BLOB NOT NULL,
    password_file   BLOB NOT NULL,
    identity_public BLOB NOT NULL,
    sealed_identity BLOB NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE login_attempts (
    id           TEXT PRIMARY KEY,
    handle       TEXT NOT NULL,
    state_sealed BLOB NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE TABLE conversations (
    id                 TEXT PRIMARY KEY,
    member_id          TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    sealed_key         BLOB NOT NULL,
    guest_email_sealed BLOB NOT NULL,
    guest_email_index  BLOB NOT NULL,
    confirmed          BIGINT NOT NULL DEFAULT 0,
    last_seq           BIGINT NOT NULL DEFAULT 0,
    member_read_seq    BIGINT NOT NULL DEFAULT 0,
    member_notified_at BIGINT,
    link_requested_at  BIGINT,
    created_at         BIGINT NOT NULL,
    last_activity_at   BIGINT NOT NULL
);
CREATE INDEX conversations_by_member ON conversations (member_id, last_activity_at, id);
CREATE INDEX conversations_by_guest ON conversations (guest_email_index);
CREATE INDEX conversations_by_activity ON conversations (last_activity_at);

CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    message_id      TEXT NOT NULL,
    sender          BIGINT NOT NULL,
    ciphertext      BLOB NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, message_id)
);

CREATE TABLE grants (
    id_hash         BLOB PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    wrapped_key     BLOB NOT NULL,
    emailed         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    redeemed_at     BIGINT
);
CREATE INDEX grants_by_conversation ON grants (conversation_id);
CREATE INDEX grants_by_expiry ON grants (expires_at);

-- A destroyed grant leaves only its hash, so that a used or expired link
-- answers "used up" (410) instead of "unknown" (404) for a while.
CREATE TABLE spent_grants (
    id_hash    BLOB PRIMARY KEY,
    reason     TEXT NOT NULL,
    forget_at  BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash      BLOB PRIMARY KEY,
    member_id       TEXT REFERENCES members (id) ON DELETE CASCADE,
    conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    idle_ms         BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX sessions_by_member ON sessions (member_id);
CREATE INDEX sessions_by_conversation ON sessions (conversation_id);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE,
    payload_sealed  BLOB NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_token     TEXT,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);
