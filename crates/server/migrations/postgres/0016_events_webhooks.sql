-- Events and webhooks (issue 11, item 1).
--
-- `events`: what happened, metadata only, written in the same transaction
-- as the action itself, so an acknowledged action always has its event.
-- `seq` numbers them in commit order (PostgreSQL: see `store/events.rs`,
-- which serialises the writers) and never goes back, also after the sweep
-- emptied the table (AUTOINCREMENT on SQLite; a sequence on PostgreSQL):
-- delivery cursors and a later event stream's `Last-Event-ID` count on it.
-- The handle is copied in: the event outlives a deleted member. (COALESCE
-- in the detail check: a NULL would make the check unknown, which passes.)
CREATE TABLE events (
    seq             BIGSERIAL PRIMARY KEY,
    event_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    handle          TEXT NOT NULL,
    conversation_id TEXT,
    detail          TEXT,
    created_at      BIGINT NOT NULL,
    CONSTRAINT events_id_unique UNIQUE (event_id),
    CONSTRAINT events_id_hex CHECK (length(event_id) = 32 AND ltrim(event_id, '0123456789abcdef') = ''),
    CONSTRAINT events_member_hex CHECK (length(member_id) = 32 AND ltrim(member_id, '0123456789abcdef') = ''),
    CONSTRAINT events_handle_set CHECK (handle <> ''),
    CONSTRAINT events_kind CHECK (kind IN ('message.created', 'link.opened', 'link.requested', 'conversation.deleted', 'member.disabled')),
    CONSTRAINT events_conversation CHECK ((kind = 'member.disabled') = (conversation_id IS NULL)),
    CONSTRAINT events_detail CHECK (
        (kind = 'message.created' AND COALESCE(detail, '') IN ('guest', 'member'))
        OR (kind = 'conversation.deleted' AND COALESCE(detail, '') IN ('member', 'retention', 'member_deleted'))
        OR (kind IN ('link.opened', 'link.requested', 'member.disabled') AND detail IS NULL)),
    CONSTRAINT events_time CHECK (created_at >= 0)
);

-- Where the site's backend wants the events. No secret is stored: each
-- endpoint's is derived from the secrets file and its id. `cursor_seq` is
-- the last event delivered (a new endpoint starts at the newest event);
-- `attempts`, `next_attempt_at` and `last_error` (a class such as
-- `http_500` or `timeout`, never what the receiver answered) are the
-- retry state of the event after the cursor; `claim_token` and
-- `claimed_until` the lease of the instance sending to it.
CREATE TABLE webhook_endpoints (
    id              TEXT NOT NULL,
    url             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    cursor_seq      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    claim_token     TEXT,
    claimed_until   BIGINT,
    CONSTRAINT webhook_endpoints_primary_key PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_id_hex CHECK (length(id) = 32 AND ltrim(id, '0123456789abcdef') = ''),
    CONSTRAINT webhook_endpoints_url_set CHECK (length(url) BETWEEN 8 AND 2000),
    CONSTRAINT webhook_endpoints_error_short CHECK (length(last_error) <= 32),
    CONSTRAINT webhook_endpoints_numbers CHECK (cursor_seq >= 0 AND attempts >= 0 AND created_at >= 0 AND next_attempt_at >= 0 AND claimed_until >= 0)
);
