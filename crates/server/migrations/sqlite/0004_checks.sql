-- CHECK constraints: the database refuses any value the server would not
-- write (sender 7, kind 'foo', a session with two owners, a hash that is
-- not 32 bytes), so the store never has to guess what one means.
--
-- SQLite cannot add a CHECK to an existing table, so every table is rebuilt:
-- create T_new, copy, drop T, rename T_new to T, recreate the indexes.
-- PostgreSQL runs the very same statements (this file and its PostgreSQL
-- twin differ only in type names; tests/migrations.rs checks that).
--
-- The order matters with foreign keys ON, which they are: sqlx runs each
-- migration in a transaction, where PRAGMA foreign_keys cannot be turned
-- off. Dropping a parent table first deletes its rows, which would cascade
-- to every child row still pointing at it. So all new tables are created
-- and filled first (the new children point at the new parents), then the
-- old tables are dropped children first: when an old parent goes, nothing
-- refers to it any more. Renaming T_new to T rewrites the references to it
-- (SQLite since 3.26; PostgreSQL refers to tables, not names).
--
-- Rows that break a rule make this migration fail rather than vanish: such
-- a row was not written by this server, and someone should look at it.
--
-- An id is 32 lower-case hex digits: length 32, and nothing left after
-- trimming hex digits (ltrim works alike in both databases).

CREATE TABLE members_new (
    id                       TEXT NOT NULL,
    handle                   TEXT NOT NULL,
    display_name             TEXT NOT NULL,
    email_sealed             BLOB NOT NULL,
    password_file            BLOB NOT NULL,
    identity_public          BLOB NOT NULL,
    sealed_identity          BLOB NOT NULL,
    created_at               BIGINT NOT NULL,
    recovery_sealed_identity BLOB,
    recovery_verifier        BLOB,
    CONSTRAINT members_primary_key PRIMARY KEY (id),
    CONSTRAINT members_handle_unique UNIQUE (handle),
    CONSTRAINT members_id_hex CHECK (length(id) = 32 AND ltrim(id, '0123456789abcdef') = ''),
    CONSTRAINT members_handle_set CHECK (handle <> ''),
    CONSTRAINT members_identity_public_x25519 CHECK (length(identity_public) = 32),
    CONSTRAINT members_created_at_time CHECK (created_at >= 0),
    -- Both halves of the recovery key's part, or neither.
    CONSTRAINT members_recovery_pair CHECK ((recovery_sealed_identity IS NULL) = (recovery_verifier IS NULL)),
    CONSTRAINT members_recovery_verifier_sha256 CHECK (length(recovery_verifier) = 32)
);
INSERT INTO members_new (id, handle, display_name, email_sealed, password_file, identity_public,
                         sealed_identity, created_at, recovery_sealed_identity, recovery_verifier)
SELECT id, handle, display_name, email_sealed, password_file, identity_public,
       sealed_identity, created_at, recovery_sealed_identity, recovery_verifier
FROM members;

CREATE TABLE login_attempts_new (
    id           TEXT NOT NULL,
    handle       TEXT NOT NULL,
    state_sealed BLOB NOT NULL,
    expires_at   BIGINT NOT NULL,
    CONSTRAINT login_attempts_primary_key PRIMARY KEY (id),
    CONSTRAINT login_attempts_id_hex CHECK (length(id) = 32 AND ltrim(id, '0123456789abcdef') = ''),
    CONSTRAINT login_attempts_expires_at_time CHECK (expires_at >= 0)
);
INSERT INTO login_attempts_new (id, handle, state_sealed, expires_at)
SELECT id, handle, state_sealed, expires_at
FROM login_attempts;

CREATE TABLE conversations_new (
    id                 TEXT NOT NULL,
    member_id          TEXT NOT NULL,
    sealed_key         BLOB NOT NULL,
    guest_email_sealed BLOB NOT NULL,
    guest_email_index  BLOB NOT NULL,
    confirmed          BIGINT NOT NULL DEFAULT 0,
    last_seq           BIGINT NOT NULL DEFAULT 0,
    member_read_seq    BIGINT NOT NULL DEFAULT 0,
    member_notified_at BIGINT,
    link_requested_at  BIGINT,
    created_at         BIGINT NOT NULL,
    last_activity_at   BIGINT NOT NULL,
    CONSTRAINT conversations_primary_key PRIMARY KEY (id),
    CONSTRAINT conversations_member FOREIGN KEY (member_id) REFERENCES members_new (id) ON DELETE CASCADE,
    CONSTRAINT conversations_id_hex CHECK (length(id) = 32 AND ltrim(id, '0123456789abcdef') = ''),
    -- HMAC-SHA256 of the normalised address.
    CONSTRAINT conversations_guest_email_index_hmac CHECK (length(guest_email_index) = 32),
    CONSTRAINT conversations_confirmed_flag CHECK (confirmed IN (0, 1)),
    -- The member never reads past the newest message (mark_read clamps).
    CONSTRAINT conversations_seqs CHECK (last_seq >= 0 AND member_read_seq >= 0 AND member_read_seq <= last_seq),
    CONSTRAINT conversations_times CHECK (created_at >= 0 AND last_activity_at >= 0
                                          AND member_notified_at >= 0 AND link_requested_at >= 0)
);
INSERT INTO conversations_new (id, member_id, sealed_key, guest_email_sealed, guest_email_index,
                               confirmed, last_seq, member_read_seq, member_notified_at,
                               link_requested_at, created_at, last_activity_at)
SELECT id, member_id, sealed_key, guest_email_sealed, guest_email_index,
       confirmed, last_seq, member_read_seq, member_notified_at,
       link_requested_at, created_at, last_activity_at
FROM conversations;

CREATE TABLE messages_new (
    conversation_id TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    message_id      TEXT NOT NULL,
    sender          BIGINT NOT NULL,
    ciphertext      BLOB NOT NULL,
    created_at      BIGINT NOT NULL,
    CONSTRAINT messages_primary_key PRIMARY KEY (conversation_id, seq),
    CONSTRAINT messages_message_id_unique UNIQUE (conversation_id, message_id),
    CONSTRAINT messages_conversation FOREIGN KEY (conversation_id) REFERENCES conversations_new (id) ON DELETE CASCADE,
    CONSTRAINT messages_seq_positive CHECK (seq > 0),
    CONSTRAINT messages_message_id_hex CHECK (length(message_id) = 32 AND ltrim(message_id, '0123456789abcdef') = ''),
    -- As in the protocol: 1 = member, 2 = guest.
    CONSTRAINT messages_sender_role CHECK (sender IN (1, 2)),
    CONSTRAINT messages_created_at_time CHECK (created_at >= 0)
);
INSERT INTO messages_new (conversation_id, seq, message_id, sender, ciphertext, created_at)
SELECT conversation_id, seq, message_id, sender, ciphertext, created_at
FROM messages;

-- kind and emailed are not tied together ('manual' exactly when not
-- e-mailed): grants from before 0002 all got kind 'message'.
CREATE TABLE grants_new (
    id_hash         BLOB NOT NULL,
    conversation_id TEXT NOT NULL,
    wrapped_key     BLOB NOT NULL,
    emailed         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    redeemed_at     BIGINT,
    kind            TEXT NOT NULL DEFAULT 'message',
    CONSTRAINT grants_primary_key PRIMARY KEY (id_hash),
    CONSTRAINT grants_conversation FOREIGN KEY (conversation_id) REFERENCES conversations_new (id) ON DELETE CASCADE,
    CONSTRAINT grants_id_hash_sha256 CHECK (length(id_hash) = 32),
    CONSTRAINT grants_emailed_flag CHECK (emailed IN (0, 1)),
    CONSTRAINT grants_kind_known CHECK (kind IN ('first_contact', 'message', 'requested', 'manual')),
    CONSTRAINT grants_times CHECK (created_at >= 0 AND expires_at >= 0 AND redeemed_at >= 0)
);
INSERT INTO grants_new (id_hash, conversation_id, wrapped_key, emailed, created_at, expires_at,
                        redeemed_at, kind)
SELECT id_hash, conversation_id, wrapped_key, emailed, created_at, expires_at,
       redeemed_at, kind
FROM grants;

CREATE TABLE spent_grants_new (
    id_hash   BLOB NOT NULL,
    reason    TEXT NOT NULL,
    forget_at BIGINT NOT NULL,
    CONSTRAINT spent_grants_primary_key PRIMARY KEY (id_hash),
    CONSTRAINT spent_grants_id_hash_sha256 CHECK (length(id_hash) = 32),
    CONSTRAINT spent_grants_reason_known CHECK (reason IN ('used', 'expired')),
    CONSTRAINT spent_grants_forget_at_time CHECK (forget_at >= 0)
);
INSERT INTO spent_grants_new (id_hash, reason, forget_at)
SELECT id_hash, reason, forget_at
FROM spent_grants;

CREATE TABLE sessions_new (
    token_hash      BLOB NOT NULL,
    member_id       TEXT,
    conversation_id TEXT,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    idle_ms         BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    CONSTRAINT sessions_primary_key PRIMARY KEY (token_hash),
    CONSTRAINT sessions_member FOREIGN KEY (member_id) REFERENCES members_new (id) ON DELETE CASCADE,
    CONSTRAINT sessions_conversation FOREIGN KEY (conversation_id) REFERENCES conversations_new (id) ON DELETE CASCADE,
    CONSTRAINT sessions_token_hash_sha256 CHECK (length(token_hash) = 32),
    -- A member's session or a guest's, never both, never neither.
    CONSTRAINT sessions_one_owner CHECK ((member_id IS NULL) <> (conversation_id IS NULL)),
    CONSTRAINT sessions_times CHECK (created_at >= 0 AND last_seen_at >= 0 AND idle_ms >= 0
                                     AND expires_at >= 0)
);
INSERT INTO sessions_new (token_hash, member_id, conversation_id, created_at, last_seen_at,
                          idle_ms, expires_at)
SELECT token_hash, member_id, conversation_id, created_at, last_seen_at,
       idle_ms, expires_at
FROM sessions;

CREATE TABLE outbox_new (
    id              TEXT NOT NULL,
    conversation_id TEXT,
    payload_sealed  BLOB NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_token     TEXT,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    CONSTRAINT outbox_primary_key PRIMARY KEY (id),
    CONSTRAINT outbox_conversation FOREIGN KEY (conversation_id) REFERENCES conversations_new (id) ON DELETE CASCADE,
    CONSTRAINT outbox_id_hex CHECK (length(id) = 32 AND ltrim(id, '0123456789abcdef') = ''),
    CONSTRAINT outbox_attempts_count CHECK (attempts >= 0),
    -- A lease is a token and a time, or neither.
    CONSTRAINT outbox_lease_pair CHECK ((lease_token IS NULL) = (lease_until IS NULL)),
    CONSTRAINT outbox_lease_token_hex CHECK (length(lease_token) = 32 AND ltrim(lease_token, '0123456789abcdef') = ''),
    CONSTRAINT outbox_times CHECK (next_attempt_at >= 0 AND lease_until >= 0 AND created_at >= 0)
);
INSERT INTO outbox_new (id, conversation_id, payload_sealed, attempts, next_attempt_at,
                        lease_token, lease_until, created_at)
SELECT id, conversation_id, payload_sealed, attempts, next_attempt_at,
       lease_token, lease_until, created_at
FROM outbox;

-- Children first: see the top of this file.
DROP TABLE outbox;
DROP TABLE sessions;
DROP TABLE grants;
DROP TABLE messages;
DROP TABLE spent_grants;
DROP TABLE conversations;
DROP TABLE login_attempts;
DROP TABLE members;

ALTER TABLE members_new RENAME TO members;
ALTER TABLE login_attempts_new RENAME TO login_attempts;
ALTER TABLE conversations_new RENAME TO conversations;
ALTER TABLE messages_new RENAME TO messages;
ALTER TABLE grants_new RENAME TO grants;
ALTER TABLE spent_grants_new RENAME TO spent_grants;
ALTER TABLE sessions_new RENAME TO sessions;
ALTER TABLE outbox_new RENAME TO outbox;

-- The indexes of 0001 and 0002, gone with the old tables.
CREATE INDEX conversations_by_member ON conversations (member_id, last_activity_at, id);
CREATE INDEX conversations_by_guest ON conversations (guest_email_index);
CREATE INDEX conversations_by_activity ON conversations (last_activity_at);
CREATE INDEX grants_by_conversation ON grants (conversation_id);
CREATE INDEX grants_by_expiry ON grants (expires_at);
CREATE INDEX sessions_by_member ON sessions (member_id);
CREATE INDEX sessions_by_conversation ON sessions (conversation_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX outbox_due ON outbox (next_attempt_at);
CREATE INDEX login_attempts_by_expiry ON login_attempts (expires_at);
CREATE INDEX spent_grants_by_expiry ON spent_grants (forget_at);
