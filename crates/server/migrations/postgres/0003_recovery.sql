-- Password recovery: the identity sealed under the recovery key's KEK, and
-- SHA-256 of the recovery proof (never the proof or the key).
ALTER TABLE members ADD COLUMN recovery_sealed_identity BYTEA;
ALTER TABLE members ADD COLUMN recovery_verifier BYTEA;
