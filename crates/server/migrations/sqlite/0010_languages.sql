-- Languages (issue 9, item 5): e-mails go out in the language their
-- recipient used. A guest's is remembered per conversation (taken from his
-- first contact, updated by his replies and by each new-link request, which
-- carries it through the queue below); a member's at registration and each
-- sign-in. The value is a catalogue's tag (i18n/<tag>.json: en, de,
-- pt-br); one whose catalogue was removed since reads as English. Rows from
-- before: English, the only language there was.

ALTER TABLE conversations ADD COLUMN guest_language TEXT NOT NULL DEFAULT 'en'
    CONSTRAINT conversations_guest_language_tag CHECK (length(guest_language) BETWEEN 2 AND 35);

ALTER TABLE members ADD COLUMN language TEXT NOT NULL DEFAULT 'en'
    CONSTRAINT members_language_tag CHECK (length(language) BETWEEN 2 AND 35);

ALTER TABLE link_requests ADD COLUMN language TEXT NOT NULL DEFAULT 'en'
    CONSTRAINT link_requests_language_tag CHECK (length(language) BETWEEN 2 AND 35);
