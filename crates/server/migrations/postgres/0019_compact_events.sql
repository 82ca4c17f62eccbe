-- Compact events (issue 12, item 3): see the SQLite twin for the why and
-- the kind numbers. Here `seq` keeps its sequence: the new table takes it
-- over before the old one (its owner) is dropped. The columns are ordered
-- so that no padding falls between them.

ALTER SEQUENCE events_seq_seq OWNED BY NONE;
CREATE TABLE events_compact (
    seq             BIGINT NOT NULL DEFAULT nextval('events_seq_seq'),
    kind            BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    event_id        BYTEA NOT NULL,
    conversation_id BYTEA,
    member_id       TEXT NOT NULL,
    handle          TEXT NOT NULL,
    CONSTRAINT events_kind CHECK (kind BETWEEN 1 AND 8),
    CONSTRAINT events_conversation CHECK ((kind = 8) = (conversation_id IS NULL)),
    CONSTRAINT events_id_bytes CHECK (length(event_id) = 16),
    CONSTRAINT events_conversation_bytes CHECK (conversation_id IS NULL OR length(conversation_id) = 16),
    CONSTRAINT events_member_hex CHECK (length(member_id) = 32 AND ltrim(member_id, '0123456789abcdef') = ''),
    CONSTRAINT events_handle_set CHECK (handle <> ''),
    CONSTRAINT events_time CHECK (created_at >= 0)
);
INSERT INTO events_compact (seq, kind, created_at, event_id, conversation_id, member_id, handle)
SELECT seq,
       CASE kind || '/' || COALESCE(detail, '')
           WHEN 'message.created/guest' THEN 1
           WHEN 'message.created/member' THEN 2
           WHEN 'link.opened/' THEN 3
           WHEN 'link.requested/' THEN 4
           WHEN 'conversation.deleted/member' THEN 5
           WHEN 'conversation.deleted/retention' THEN 6
           WHEN 'conversation.deleted/member_deleted' THEN 7
           WHEN 'member.disabled/' THEN 8
       END,
       created_at, decode(event_id, 'hex'), decode(conversation_id, 'hex'), member_id, handle
FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_compact RENAME TO events;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (seq);
ALTER SEQUENCE events_seq_seq OWNED BY events.seq;
