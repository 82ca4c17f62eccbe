-- Read receipts (issue 11 item 2). Metadata only: times and sequence
-- numbers, never content.
--
-- A read mark says "this side had read up to `seq` at `read_at`". A
-- message's read time is the time of the first mark of the other side
-- whose seq is at or after its own, so one row per read mark gives a time
-- per message without rewriting message rows. Marks are only written when
-- they move past the side's newest mark, so seq and read_at both grow.
-- reader: 1 = member, 2 = guest (as messages.sender).
CREATE TABLE read_marks (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    reader          BIGINT NOT NULL CHECK (reader IN (1, 2)),
    seq             BIGINT NOT NULL CHECK (seq >= 1),
    read_at         BIGINT NOT NULL,
    CONSTRAINT read_marks_primary_key PRIMARY KEY (conversation_id, reader, seq)
);

-- The switches, on unless turned off: the member's for all his
-- conversations, the guest's for his one.
ALTER TABLE members ADD COLUMN read_receipts BIGINT NOT NULL DEFAULT 1 CHECK (read_receipts IN (0, 1));
ALTER TABLE conversations ADD COLUMN guest_read_receipts BIGINT NOT NULL DEFAULT 1 CHECK (guest_read_receipts IN (0, 1));

-- What a link carried: the conversation's newest sequence number when the
-- grant was made (the guest's page shows everything up to there). Grants
-- from before this migration get the newest message stored by then.
ALTER TABLE grants ADD COLUMN carries_seq BIGINT NOT NULL DEFAULT 0;
UPDATE grants SET carries_seq = COALESCE((SELECT MAX(m.seq) FROM messages m
    WHERE m.conversation_id = grants.conversation_id AND m.created_at <= grants.created_at), 0);
