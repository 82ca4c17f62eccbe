-- Provider accounts under a keyed hash (issue 10, review): 0012 kept the
-- pair (issuer, subject) in clear, and a subject can be the member's
-- address (some providers use it so) or an id that follows him across
-- every site of a large provider. The rest of the database keeps no such
-- thing in clear (addresses are sealed, guests' behind a blind index), so
-- a link now keeps only account_hash: HMAC-SHA256 under the server's
-- blind-index key of the pair (domain::oidc::account_hash). A stolen
-- database tells which member id has a provider account, not which one.
--
-- SQL cannot compute the hash (the key is in the secrets file, not here),
-- so the rows 0012 wrote are carried forward in clear, and the server
-- hashes them: all of them at start (app.rs, after the migrations), and
-- each one at the account's next sign-in anyway. A row is in one form or
-- the other, never both; a later migration may drop the clear columns once
-- no server older than this one can run.
--
-- SQLite cannot relax NOT NULL in place, so the table is rebuilt; the new
-- constraints have new names, since PostgreSQL names an index after its
-- constraint and the old table's indexes exist until it is dropped.
CREATE TABLE oidc_accounts_new (
    account_hash BLOB,
    issuer       TEXT,
    subject      TEXT,
    member_id    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    CONSTRAINT oidc_accounts_hash_unique UNIQUE (account_hash),
    CONSTRAINT oidc_accounts_clear_unique UNIQUE (issuer, subject),
    CONSTRAINT oidc_accounts_one_per_member UNIQUE (member_id),
    CONSTRAINT oidc_accounts_one_form CHECK (
        (account_hash IS NOT NULL AND length(account_hash) = 32 AND issuer IS NULL AND subject IS NULL)
        OR (account_hash IS NULL AND issuer IS NOT NULL AND subject IS NOT NULL AND issuer <> '' AND subject <> '')
    ),
    CONSTRAINT oidc_accounts_member_hex CHECK (length(member_id) = 32 AND ltrim(member_id, '0123456789abcdef') = ''),
    CONSTRAINT oidc_accounts_created_at_time CHECK (created_at >= 0)
);

INSERT INTO oidc_accounts_new (issuer, subject, member_id, created_at)
SELECT issuer, subject, member_id, created_at FROM oidc_accounts;

DROP TABLE oidc_accounts;
ALTER TABLE oidc_accounts_new RENAME TO oidc_accounts;
