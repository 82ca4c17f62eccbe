-- Passkeys that unlock a member's key (issue 10, item 2; docs/protocol.md
-- §4.9.1). One row per passkey: the member's identity private key sealed
-- under the key-encryption key the passkey's WebAuthn PRF output gives in
-- his browser. The server never sees that output and checks no WebAuthn
-- signature: a row opens nothing without the authenticator. Removing a
-- passkey deletes its row, so its copy unlocks nothing any more (backups
-- keep it, as they keep the password-sealed copy: both need a secret the
-- server never had).
--
-- The credential id is unique per member, not across members, so that
-- adding a passkey tells nobody whether another member has it.

CREATE TABLE member_passkeys (
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    credential_id   TEXT NOT NULL
        CONSTRAINT member_passkeys_credential_id CHECK (length(credential_id) BETWEEN 2 AND 1364),
    label           TEXT NOT NULL
        CONSTRAINT member_passkeys_label CHECK (length(label) BETWEEN 1 AND 64),
    sealed_identity BLOB NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (member_id, credential_id)
);
