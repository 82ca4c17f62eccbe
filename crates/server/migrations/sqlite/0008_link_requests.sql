-- New-link requests, queued (issue 13, item 5: constant work). A request
-- used to mark the conversations of its address at once, so only a request
-- for an address that has a conversation wrote, and took longer. Now every
-- request inserts one row here, whoever it names; the matching against
-- conversations happens later, apart from the request (the worker's next
-- pass, or just before the member's client reads or answers requests).
--
-- No address in clear: guest_email_index is the address's keyed hash, as
-- in conversations. handle is the member the guest named (public, as his
-- contact page is), or NULL for every member. A row lives until the next
-- fold, half a second by default.
--
-- No primary key and no index: the table is emptied as a whole, and an
-- insert should cost the same every time.

CREATE TABLE link_requests (
    guest_email_index BLOB NOT NULL,
    handle            TEXT,
    requested_at      BIGINT NOT NULL,
    CONSTRAINT link_requests_index_hmac CHECK (length(guest_email_index) = 32),
    CONSTRAINT link_requests_handle_set CHECK (handle <> ''),
    CONSTRAINT link_requests_time CHECK (requested_at >= 0)
);
