-- The admin API for the site's backend (issue 10, item 3).
--
-- A member the site disabled keeps his rows; `disabled_at` says since when
-- he cannot sign in nor take messages (NULL: enabled).
ALTER TABLE members ADD COLUMN disabled_at BIGINT
    CONSTRAINT members_disabled_at_time CHECK (disabled_at >= 0);

-- Bearer tokens of the admin API, made by `latchkey admin token create`.
-- Only the SHA-256 of a token is kept (tokens are 32 random bytes, so no
-- slow hash is needed); the name is what the log shows. A revoked token
-- keeps its row, so its name is not reused and the listing shows it.
CREATE TABLE api_tokens (
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    CONSTRAINT api_tokens_primary_key PRIMARY KEY (name),
    CONSTRAINT api_tokens_hash_unique UNIQUE (token_hash),
    CONSTRAINT api_tokens_name_set CHECK (length(name) BETWEEN 1 AND 64),
    CONSTRAINT api_tokens_hash_sha256 CHECK (length(token_hash) = 32),
    CONSTRAINT api_tokens_times CHECK (created_at >= 0 AND last_used_at >= 0 AND revoked_at >= 0)
);

-- Invitations: a member-to-be with no key yet. The row reserves the handle
-- until the member enrolls (then a members row with the same id replaces
-- it) or the invitation is deleted; an expired one reserves nothing. The
-- enrollment token is kept as its SHA-256, the address sealed like a
-- member's (context: the id's hex text).
CREATE TABLE invites (
    member_id    TEXT NOT NULL,
    handle       TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email_sealed BYTEA NOT NULL,
    token_hash   BYTEA NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    CONSTRAINT invites_primary_key PRIMARY KEY (member_id),
    CONSTRAINT invites_handle_unique UNIQUE (handle),
    CONSTRAINT invites_token_unique UNIQUE (token_hash),
    CONSTRAINT invites_id_hex CHECK (length(member_id) = 32 AND ltrim(member_id, '0123456789abcdef') = ''),
    CONSTRAINT invites_handle_set CHECK (handle <> ''),
    CONSTRAINT invites_token_sha256 CHECK (length(token_hash) = 32),
    CONSTRAINT invites_times CHECK (created_at >= 0 AND expires_at >= created_at)
);
