-- Compact messages (issue 12, item 3). A message row carried its
-- conversation's id and its own as 32 hex characters each (66 bytes), and
-- both indexes carried them again: about 150 bytes a message beyond its
-- ciphertext before page waste.
--
-- Now:
-- * conversations get `number`, a small integer that only the database
--   sees (the API keeps the 16-byte ids). Messages refer to it. It is set
--   on insert by the trigger below: SQLite's writes take turns, so the
--   largest number plus one is never taken twice. A number freed by a
--   deleted conversation may come back; its messages went with it (the
--   foreign key cascades).
-- * message ids are their 16 bytes.
-- * the rows are in posting order (an append-only rowid), so pages fill
--   up; the two unique indexes give the order within a conversation and
--   the retry look-up.
-- The page size (8 KiB, where 4 KiB pages held three 1 KiB messages and
-- lost a fifth of the file) is not set here: changing it needs a VACUUM
-- outside WAL and outside a transaction (`store/sqlite/page_size.rs`).
--
-- This migration differs from its PostgreSQL twin (hex to bytes, and the
-- number: an identity column there); `tests/migrations.rs` lists it.

ALTER TABLE conversations ADD COLUMN number INTEGER CHECK (number > 0);
UPDATE conversations SET number = rowid;
CREATE UNIQUE INDEX conversations_by_number ON conversations (number);

CREATE TRIGGER conversations_number AFTER INSERT ON conversations
FOR EACH ROW WHEN NEW.number IS NULL
BEGIN
    UPDATE conversations SET number = (SELECT COALESCE(MAX(number), 0) + 1 FROM conversations)
    WHERE id = NEW.id;
END;

CREATE TABLE messages_compact (
    conversation INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    sender       INTEGER NOT NULL,
    message_id   BLOB NOT NULL,
    ciphertext   BLOB NOT NULL,
    CONSTRAINT messages_conversation FOREIGN KEY (conversation) REFERENCES conversations (number) ON DELETE CASCADE,
    CONSTRAINT messages_seq_positive CHECK (seq > 0),
    CONSTRAINT messages_created_at_time CHECK (created_at >= 0),
    -- As in the protocol: 1 = member, 2 = guest.
    CONSTRAINT messages_sender_role CHECK (sender IN (1, 2)),
    CONSTRAINT messages_message_id_bytes CHECK (typeof(message_id) = 'blob' AND length(message_id) = 16)
);
INSERT INTO messages_compact (conversation, seq, created_at, sender, message_id, ciphertext)
SELECT c.number, m.seq, m.created_at, m.sender, unhex(m.message_id), m.ciphertext
FROM messages m JOIN conversations c ON c.id = m.conversation_id
ORDER BY m.created_at, c.number, m.seq;
DROP TABLE messages;
ALTER TABLE messages_compact RENAME TO messages;
CREATE UNIQUE INDEX messages_by_seq ON messages (conversation, seq);
CREATE UNIQUE INDEX messages_by_message_id ON messages (conversation, message_id);
