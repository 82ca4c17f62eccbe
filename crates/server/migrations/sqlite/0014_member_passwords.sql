-- Members without a password (issue 10): a member may set up his key with
-- a passkey only, so the password file and the password-sealed identity
-- move out of members into a table of their own, where a row means "this
-- member has a password". Every existing member has one; his row carries
-- both values forward unchanged.
--
-- SQLite cannot make a column nullable in place, but it can drop one that
-- no index or constraint names (3.35), and these two are such columns; so
-- the same statements run on both databases.

CREATE TABLE member_passwords (
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    password_file   BLOB NOT NULL,
    sealed_identity BLOB NOT NULL,
    CONSTRAINT member_passwords_primary_key PRIMARY KEY (member_id)
);

INSERT INTO member_passwords (member_id, password_file, sealed_identity)
SELECT id, password_file, sealed_identity FROM members;

ALTER TABLE members DROP COLUMN password_file;
ALTER TABLE members DROP COLUMN sealed_identity;
