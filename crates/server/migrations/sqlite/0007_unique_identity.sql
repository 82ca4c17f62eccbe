-- One identity key per member (issue 13 item 5). Registration now proves
-- that the registrant holds the private half of the key he registers; this
-- index makes the key unique as well, so a public key copied from a
-- contact page cannot be registered a second time under another handle,
-- where it would show guests the first member's fingerprint.
--
-- On a database that already holds one public key under two handles this
-- migration fails, naming this index, and the server does not start: the
-- operator must decide which account is the impostor (the later one, in
-- all likelihood: compare created_at) and delete it, then migrate again.
-- The migration deletes nothing itself.

CREATE UNIQUE INDEX members_identity_public_unique ON members (identity_public);
