-- The mail log: one row per e-mail queued, counted against each budget it
-- spends (issue 13: no mail cannon). The outbox row is deleted once sent,
-- so the outbox cannot count what went out; this log can, for a day.
--
-- No address and no id in clear: key_hash is an HMAC under the server's
-- blind-index key (a guest's address is keyed by its blind index, so every
-- conversation with it counts together; a conversation or a member by a
-- keyed hash of its id, so the log of a deleted conversation links to
-- nothing without the secrets file). forget_at lets the sweep drop a row
-- without knowing the window it was counted in.
--
-- No primary key: two mails in the same millisecond for the same key are
-- two rows, and both count.

CREATE TABLE mail_log (
    scope     TEXT NOT NULL,
    key_hash  BLOB NOT NULL,
    sent_at   BIGINT NOT NULL,
    forget_at BIGINT NOT NULL,
    CONSTRAINT mail_log_scope_known CHECK (scope IN ('conversation', 'member', 'recipient')),
    CONSTRAINT mail_log_key_hash_sha256 CHECK (length(key_hash) = 32),
    CONSTRAINT mail_log_times CHECK (sent_at >= 0 AND forget_at >= sent_at)
);

CREATE INDEX mail_log_by_key ON mail_log (scope, key_hash, sent_at);
CREATE INDEX mail_log_by_forget_at ON mail_log (forget_at);
