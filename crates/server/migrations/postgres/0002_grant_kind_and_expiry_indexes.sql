-- Why a grant exists ('first_contact', 'message', 'requested', 'manual'):
-- a member's reply is not coalesced against the guest's first-contact link.
ALTER TABLE grants ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';

-- The sweep looks rows up by expiry.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX login_attempts_by_expiry ON login_attempts (expires_at);
CREATE INDEX spent_grants_by_expiry ON spent_grants (forget_at);
