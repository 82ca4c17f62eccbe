-- Signing in with the site's accounts (issue 10, item 1).
--
-- A member who signs in through the site's OpenID provider is found again
-- by the pair (issuer, subject), the provider's stable id for him (his
-- handle may change at the site; the pair does not). The link is made at
-- his first sign-in, before his member row exists: he has no key yet, so
-- that sign-in makes him an invitation (0011) whose member id the link
-- names, and his row appears when he enrolls. Hence a table of its own and
-- no foreign key; a link whose member is gone is replaced at the next
-- sign-in.
CREATE TABLE oidc_accounts (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT oidc_accounts_primary_key PRIMARY KEY (issuer, subject),
    CONSTRAINT oidc_accounts_member_unique UNIQUE (member_id),
    CONSTRAINT oidc_accounts_set CHECK (issuer <> '' AND subject <> ''),
    CONSTRAINT oidc_accounts_member_hex CHECK (length(member_id) = 32 AND ltrim(member_id, '0123456789abcdef') = ''),
    CONSTRAINT oidc_accounts_created_at_time CHECK (created_at >= 0)
);

-- A sign-in on its way through the provider: the state, nonce and PKCE
-- verifier sealed under the server's key, for ten minutes, taken (read and
-- deleted) by the callback so that each finishes once. The browser's
-- cookie names the row; the provider sends the state back.
CREATE TABLE oidc_attempts (
    id           TEXT NOT NULL,
    state_sealed BLOB NOT NULL,
    expires_at   BIGINT NOT NULL,
    CONSTRAINT oidc_attempts_primary_key PRIMARY KEY (id),
    CONSTRAINT oidc_attempts_id_hex CHECK (length(id) = 32 AND ltrim(id, '0123456789abcdef') = ''),
    CONSTRAINT oidc_attempts_expires_at_time CHECK (expires_at >= 0)
);
