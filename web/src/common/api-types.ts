// Generated from the Rust contract crate `latchkey-api` (crates/api);
// do not edit. Regenerate: LATCHKEY_WRITE_CONTRACT=1 cargo test -p latchkey-api --test generated

/**
 * Bytes as unpadded base64url (A-Z a-z 0-9 - _, no '=').
 */
export type B64 = string;

/**
 * A member's handle: 3 to 32 characters of a-z, 0-9 and '-', not at either end. The server trims and folds upper case before it checks.
 */
export type Handle = string;

/**
 * An e-mail address: dot-separated atoms of a-z, 0-9 and !#$%&'*+/=?^_`{|}~- before the '@'; two or more DNS labels after it (an internationalised domain in its xn-- form); at most 254 characters.
 */
export type Email = string;

/**
 * A display name: 1 to 80 characters after trimming, no control or text-direction characters.
 */
export type DisplayName = string;

/**
 * A conversation id: 16 random bytes as 32 lower-case hex digits, made by the guest's browser.
 */
export type ConversationId = string;

/**
 * A message id: 16 random bytes as 32 lower-case hex digits, made by its sender.
 */
export type MessageId = string;

/**
 * A login in progress, named by the server: 32 lower-case hex digits.
 */
export type LoginId = string;

/**
 * A grant id: 32 bytes derived from the link key, as 43 characters of canonical base64url. Sent in bodies only, never in URLs.
 */
export type GrantId = string;

/**
 * A link's fragment: 'k1.' and the 32-byte link key as 43 characters of canonical base64url.
 */
export type LinkFragment = string;

/**
 * The body of every error answer: `{"error": code, "message": text}`.
 */
export type ErrorBody = { 
/**
 * Machine-readable: one of the codes listed for the operation.
 */
error: string, 
/**
 * For people, in English. A 500 never says what went wrong.
 */
message: string, };

/**
 * The server answers, and so does its database.
 */
export type Health = { 
/**
 * `ok`.
 */
status: string, };

/**
 * The `data:` of one live event: metadata only, never a message. The
 * event's type is its `event:` line and its number its `id:` line.
 */
export type LiveEventData = { 
/**
 * The conversation; absent for `member.disabled`.
 */
conversation?: ConversationId, 
/**
 * Who wrote, for `message.created`.
 */
sender?: Sender, };

/**
 * The ways of signing in this server offers, for the sign-in page.
 */
export type AuthMethods = { 
/**
 * Whether handle-and-password accounts are open (registration and password sign-in).
 */
local_passwords: boolean, 
/**
 * The site's name for the "Sign in with …" button, when signing in with the site's accounts is set up; absent otherwise.
 */
oidc?: string, };

/**
 * Step 1 of registration.
 */
export type RegisterStart = { handle: Handle, 
/**
 * OPAQUE registration request (33 bytes).
 */
request: B64, 
/**
 * Needed when the operator set `registration_code`; otherwise omit it.
 */
registration_code?: string, 
/**
 * An invitation's enrollment token (from the link's fragment) in place of a registration code: the handle must be the invited one.
 */
invite?: string, };

/**
 * The server's answer to registration step 1.
 */
export type RegisterStarted = { 
/**
 * OPAQUE registration response (65 bytes).
 */
response: B64, 
/**
 * The server's one-time X25519 challenge `E` (32 bytes): prove with the new identity key.
 */
identity_challenge: B64, 
/**
 * Pass back unchanged in step 2, within 10 minutes (81 bytes, opaque to the client).
 */
registration_token: B64, };

/**
 * The server's OPAQUE registration response.
 */
export type OpaqueResponse = { 
/**
 * OPAQUE registration response (65 bytes).
 */
response: B64, };

/**
 * Step 2 of registration.
 */
export type RegisterFinish = { 
/**
 * Needed when the operator set `registration_code`; otherwise omit it.
 */
registration_code?: string, 
/**
 * An invitation's enrollment token (from the link's fragment) in place of a registration code: the handle must be the invited one.
 */
invite?: string, handle: Handle, display_name: DisplayName, 
/**
 * The member's address, for notices. Stored sealed; never shown to guests.
 */
email: Email, 
/**
 * OPAQUE registration upload (193 bytes): the password file.
 */
upload: B64, 
/**
 * The member's X25519 identity public key (32 bytes, canonical).
 */
identity_public: B64, 
/**
 * The identity private key sealed under the member's key-encryption key (73 bytes).
 */
sealed_identity: B64, 
/**
 * From step 1, unchanged (81 bytes).
 */
registration_token: B64, 
/**
 * Proof of holding `identity_public`'s private key: HMAC over step 1's challenge, the key and the handle (32 bytes; docs/protocol.md §4.2.1).
 */
identity_proof: B64, 
/**
 * The private key sealed under the recovery key's KEK; with `recovery_proof`, or neither.
 */
recovery_sealed_identity?: B64, 
/**
 * `RecoveryKey::proof()` (32 bytes); the server stores its SHA-256.
 */
recovery_proof?: B64, };

/**
 * What a member sees of himself.
 */
export type MemberView = { handle: Handle, display_name: DisplayName, 
/**
 * X25519 identity public key (32 bytes).
 */
identity_public: B64, 
/**
 * The key's fingerprint: 80 bits in Crockford base32, four groups of four.
 */
fingerprint: string, 
/**
 * The private key, sealed under the key his password gives (73 bytes); only the member can open it. Absent when he has no password (he set up his key with a passkey).
 */
sealed_identity?: B64, 
/**
 * The sites (`scheme://host[:port]`) whose pages may show his contact form in a frame, `/embed/m/HANDLE` (the server's `embed.allowed_origins`); empty: no site may.
 */
embed_origins: Array<string>, };

/**
 * What anyone may see of a member: his contact page.
 */
export type PublicMember = { handle: Handle, display_name: DisplayName, 
/**
 * X25519 identity public key (32 bytes): seal conversation keys to it.
 */
identity_public: B64, 
/**
 * The key's fingerprint: 80 bits in Crockford base32, four groups of four.
 */
fingerprint: string, 
/**
 * False while the site has disabled him: the contact page says he takes no messages.
 */
accepts_messages: boolean, };

/**
 * Step 1 of login.
 */
export type LoginStart = { handle: Handle, 
/**
 * OPAQUE login request, KE1 (97 bytes).
 */
request: B64, };

/**
 * The server's answer to step 1.
 */
export type LoginStarted = { 
/**
 * Pass to step 2 within 60 seconds.
 */
login_id: LoginId, 
/**
 * OPAQUE login response, KE2 (321 bytes).
 */
response: B64, };

/**
 * Step 2 of login.
 */
export type LoginFinish = { 
/**
 * From step 1.
 */
login_id: LoginId, 
/**
 * OPAQUE login finalization, KE3 (65 bytes).
 */
finalization: B64, };

/**
 * A new display name.
 */
export type ProfileUpdate = { display_name: DisplayName, };

/**
 * Step 1 of a password change.
 */
export type PasswordStart = { 
/**
 * OPAQUE registration request for the new password (33 bytes).
 */
request: B64, };

/**
 * Step 2 of a password change.
 */
export type PasswordFinish = { 
/**
 * OPAQUE registration upload for the new password (193 bytes).
 */
upload: B64, 
/**
 * The same private key, re-sealed under the new key-encryption key (73 bytes).
 */
sealed_identity: B64, };

/**
 * Step 1 of recovery with the printed recovery key.
 */
export type RecoverStart = { handle: Handle, 
/**
 * `RecoveryKey::proof()`: 32 bytes.
 */
recovery_proof: B64, 
/**
 * OPAQUE registration request for the new password.
 */
request: B64, };

/**
 * The server's answer to step 1 of recovery.
 */
export type RecoverStarted = { 
/**
 * OPAQUE registration response.
 */
response: B64, 
/**
 * The member's X25519 public key.
 */
identity_public: B64, 
/**
 * The private key sealed under the recovery key's KEK.
 */
recovery_sealed_identity: B64, };

/**
 * Step 2 of recovery.
 */
export type RecoverFinish = { handle: Handle, 
/**
 * `RecoveryKey::proof()`: 32 bytes.
 */
recovery_proof: B64, 
/**
 * OPAQUE registration upload.
 */
upload: B64, 
/**
 * The same private key, sealed under the new password's KEK.
 */
sealed_identity: B64, };

/**
 * A new recovery key (the old one stops working).
 */
export type NewRecovery = { 
/**
 * The private key sealed under the new recovery key's KEK.
 */
recovery_sealed_identity: B64, 
/**
 * The new recovery key's proof (32 bytes).
 */
recovery_proof: B64, };

/**
 * One passkey of the signed-in member.
 */
export type PasskeyView = { 
/**
 * The WebAuthn credential id (1 to 1023 bytes), as the browser gave it.
 */
credential_id: B64, 
/**
 * The member's name for it ("Laptop"), 1 to 64 characters.
 */
label: string, 
/**
 * The identity private key sealed under this passkey's KEK (73 bytes).
 */
sealed_identity: B64, 
/**
 * When it was added (ms since 1970).
 */
created_at: number, };

/**
 * The signed-in member's passkeys, oldest first.
 */
export type PasskeyList = { passkeys: Array<PasskeyView>, };

/**
 * A passkey to add: its credential id, a label, and the identity sealed
 * under the KEK its PRF gave.
 */
export type AddPasskey = { 
/**
 * The WebAuthn credential id (1 to 1023 bytes).
 */
credential_id: B64, 
/**
 * 1 to 64 characters, no control characters.
 */
label: string, 
/**
 * The identity private key sealed under the passkey's KEK (73 bytes).
 */
sealed_identity: B64, };

/**
 * Passkey enrollment, step 1: the invitation names the handle.
 */
export type EnrollStart = { 
/**
 * The token from the enrollment link's fragment (43 characters of base64url).
 */
invite: string, };

/**
 * The server's answer to passkey enrollment step 1.
 */
export type EnrollStarted = { 
/**
 * The invited handle, which the proof binds.
 */
handle: Handle, 
/**
 * The server's one-time X25519 challenge `E` (32 bytes): prove with the new identity key.
 */
identity_challenge: B64, 
/**
 * Pass back unchanged in step 2, within 10 minutes (81 bytes, opaque to the client).
 */
registration_token: B64, };

/**
 * Passkey enrollment, step 2: the member's key, sealed under his new
 * passkey and under his recovery key; no password.
 */
export type EnrollPasskey = { 
/**
 * The token from the enrollment link's fragment.
 */
invite: string, display_name: DisplayName, 
/**
 * The member's address, for notices. Stored sealed; never shown to guests.
 */
email: Email, 
/**
 * The member's X25519 identity public key (32 bytes, canonical).
 */
identity_public: B64, 
/**
 * From step 1, unchanged (81 bytes).
 */
registration_token: B64, 
/**
 * Proof of holding `identity_public`'s private key against step 1's challenge, for the invited handle (32 bytes; docs/protocol.md §4.2.1).
 */
identity_proof: B64, 
/**
 * The new passkey: its credential id, a label, and the private key sealed under its KEK.
 */
passkey: AddPasskey, 
/**
 * The private key sealed under the recovery key's KEK (73 bytes). Required: with no password, the recovery key is the only way back when the passkeys are lost.
 */
recovery_sealed_identity: B64, 
/**
 * `RecoveryKey::proof()` (32 bytes); the server stores its SHA-256.
 */
recovery_proof: B64, };

/**
 * Passkey sign-in, step 1.
 */
export type PasskeyLoginStart = { handle: Handle, };

/**
 * One passkey's sealed copy of the private key, for sign-in.
 */
export type PasskeyCopy = { 
/**
 * The WebAuthn credential id, for `allowCredentials`.
 */
credential_id: B64, 
/**
 * The identity private key sealed under this passkey's KEK (73 bytes).
 */
sealed_identity: B64, };

/**
 * The server's answer to passkey sign-in step 1.
 */
export type PasskeyLoginStarted = { 
/**
 * Pass to step 2 within 60 seconds; each attempt finishes once.
 */
login_id: LoginId, 
/**
 * The server's one-time X25519 challenge `E` (32 bytes): prove with the unlocked identity key.
 */
identity_challenge: B64, 
/**
 * The member's identity public key (32 bytes): what the opened copy must match.
 */
identity_public: B64, 
/**
 * Every passkey the member has, oldest first (at least one).
 */
passkeys: Array<PasskeyCopy>, };

/**
 * Passkey sign-in, step 2.
 */
export type PasskeyLoginFinish = { 
/**
 * From step 1.
 */
login_id: LoginId, 
/**
 * The passkey that opened the copy (it must still be the member's).
 */
credential_id: B64, 
/**
 * Proof of holding the identity key against step 1's challenge, for this handle (32 bytes; docs/protocol.md §4.9.2).
 */
identity_proof: B64, };

/**
 * A message as posted.
 */
export type MessageInput = { 
/**
 * Made by the sender; bound into the ciphertext.
 */
message_id: MessageId, 
/**
 * The encrypted, padded message: 41 + 256·k bytes, k ≥ 1.
 */
ciphertext: B64, };

/**
 * A link's server half: its grant id and the wrapped conversation key.
 */
export type GrantInput = { grant_id: GrantId, 
/**
 * The conversation key wrapped under the link's wrap key (73 bytes).
 */
wrapped_key: B64, };

/**
 * A guest's first contact.
 */
export type StartConversation = { 
/**
 * Where the guest's links go. Stored sealed, with a keyed blind index.
 */
guest_email: Email, 
/**
 * 16 random bytes made by the guest's browser.
 */
conversation_id: ConversationId, 
/**
 * The conversation key HPKE-sealed to the member's identity key (81 bytes).
 */
sealed_key: B64, message: MessageInput, grant: GrantInput, 
/**
 * The guest's first link, for the server to e-mail (this also confirms the address). Must derive `grant.grant_id`.
 */
link: LinkFragment, };

/**
 * The conversation was stored.
 */
export type Started = { conversation_id: ConversationId, };

/**
 * A conversation as its member sees it.
 */
export type ConversationView = { id: ConversationId, 
/**
 * The conversation key sealed to the member (81 bytes).
 */
sealed_key: B64, 
/**
 * The address the guest's links go to (the one `confirmed` is about). The address inside his introduction is whatever his browser wrote; clients compare the two.
 */
guest_email: Email, 
/**
 * The guest has opened a link, so his address is confirmed.
 */
confirmed: boolean, 
/**
 * Sequence number of the newest message.
 */
last_seq: number, 
/**
 * Guest messages after the member's read mark; his own messages never count.
 */
unread: number, 
/**
 * The guest asked for a new link; the member's client should make one (`addGrant`).
 */
link_requested: boolean, 
/**
 * Milliseconds since the Unix epoch, by the server's clock.
 */
created_at: number, 
/**
 * Time of the newest message.
 */
last_activity_at: number, };

/**
 * One page of the member's conversations, most recently active first.
 */
export type ConversationPage = { conversations: Array<ConversationView>, 
/**
 * Pass as `before` for the next page; `null` on the last page.
 */
next_before: string | null, };

/**
 * A conversation as its guest sees it.
 */
export type GuestConversationView = { id: ConversationId, member: PublicMember, 
/**
 * Sequence number of the newest message.
 */
last_seq: number, 
/**
 * The guest's read-receipt switch on this conversation (on unless he turned it off): whether opening a link tells the member which of his messages were read, and whether the guest sees when the member read his (receipts show only while both sides have them on).
 */
read_receipts: boolean, };

/**
 * `GET /conversations/{id}` answers the member's view or the guest's,
 * whichever session asks.
 */
export type ConversationAnswer = ConversationView | GuestConversationView;

/**
 * Who wrote a message (bound into its ciphertext too).
 */
export type Sender = "member" | "guest";

/**
 * A stored message.
 */
export type MessageView = { 
/**
 * Order in the conversation, from 1, assigned by the server.
 */
seq: number, message_id: MessageId, sender: Sender, ciphertext: B64, 
/**
 * When the server stored it (milliseconds since the Unix epoch).
 */
created_at: number, 
/**
 * Read receipt, only on the asker's own messages and only while both sides have receipts on: when the other side read it (milliseconds since the Unix epoch). A member's message counts as read by the guest when a link that carried it was first opened; a link carries every message up to the newest one when it was made (the message it came with included), since its page shows the conversation up to there. A guest's message counts as read when the member's read mark (`markRead`) first reached it. Absent: not read yet, not the asker's message, or receipts off.
 */
read_at?: number, };

/**
 * One page of messages, oldest first.
 */
export type MessagePage = { messages: Array<MessageView>, 
/**
 * Pass as `after` for the next page; `null` on the last page.
 */
next_after: number | null, };

/**
 * A message to post, by the member or the guest.
 */
export type PostMessage = { 
/**
 * Made by the sender; bound into the ciphertext. Reusing it with other bytes is 409 `message_id_taken`.
 */
message_id: MessageId, 
/**
 * The encrypted, padded message: 41 + 256·k bytes, k ≥ 1.
 */
ciphertext: B64, 
/**
 * Member only: a new link for the guest.
 */
grant?: GrantInput, 
/**
 * Member only, with `grant`: the link for the server to e-mail. Without it the member delivers the link himself and the server never sees it.
 */
link?: LinkFragment, };

/**
 * What became of the e-mail a post or a new link could cause: `queued` (an e-mail is queued: the guest's link, or the member's notice); `coalesced` (no e-mail, an earlier one still covers this message; for an e-mailed link, the new grant is not stored either); `capped` (no e-mail: this conversation, this member or this recipient has had the server's most e-mails for the day; the message and grant are stored all the same, the grant as one the member delivers himself); `none` (none asked for: no grant, a grant the member delivers himself, or a repeated post).
 */
export type Notification = "queued" | "coalesced" | "capped" | "none";

/**
 * The message was stored (or was already).
 */
export type PostedView = { 
/**
 * The message's sequence number.
 */
seq: number, notification: Notification, };

/**
 * The member has read up to here.
 */
export type ReadMark = { 
/**
 * Read up to this sequence number.
 */
seq: number, };

/**
 * A read-receipt switch.
 */
export type ReadReceipts = { 
/**
 * On: this side's reading is recorded and shown to the other side, and this side sees the other's (while the other has it on too). Off: nothing of this side's reading is stored (marks made so far are forgotten) and neither side sees receipts.
 */
read_receipts: boolean, };

/**
 * A link made outside a message.
 */
export type AddGrant = { grant_id: GrantId, 
/**
 * The conversation key wrapped under the link's wrap key (73 bytes).
 */
wrapped_key: B64, 
/**
 * The link for the server to e-mail; absent when the member delivers it himself.
 */
link?: LinkFragment, 
/**
 * This answers the guest's new-link request: nothing is stored or sent (notification `none`) unless one is still pending, so two clients answering at once send one link.
 */
answers_request?: boolean, };

/**
 * What became of a link made outside a message.
 */
export type GrantAdded = { 
/**
 * `queued` with a link; `coalesced` when an earlier e-mailed link is still unused (and no request is answered); `capped` over a daily mail cap; else `none`.
 */
notification: Notification, };

/**
 * A link's grant id, in a body (never in a URL: it is a bearer secret).
 */
export type GrantRef = { grant_id: GrantId, };

/**
 * Opens a link: its grant id, and the address it was sent to. A
 * wrong address uses nothing up, so a mail scanner that clicks
 * through the link page cannot burn the link.
 */
export type RedeemRequest = { grant_id: GrantId, 
/**
 * The guest's e-mail address: the one the link was sent to.
 */
email: Email, };

/**
 * Who wrote, before the link is redeemed.
 */
export type Peeked = { member: PublicMember, };

/**
 * A redeemed link: the wrapped key and a guest session cookie.
 */
export type RedeemedView = { conversation_id: ConversationId, 
/**
 * The conversation key wrapped under the link (73 bytes); unwrap it with the key in the link's fragment.
 */
wrapped_key: B64, member: PublicMember, };

/**
 * "Send me a new link."
 */
export type LinkRequest = { email: Email, 
/**
 * Only conversations with this member; all of this address's if absent.
 */
handle?: Handle, };

/**
 * The same answer whether or not the address has a conversation.
 */
export type LinkRequested = { 
/**
 * Always the same sentence.
 */
message: string, };

/**
 * An enrollment link's token, in a body (never in a URL).
 */
export type EnrollPeek = { 
/**
 * The token from the enrollment link's fragment (43 characters of base64url).
 */
invite: string, };

/**
 * Who an enrollment link is for: the page fills in the registration with it.
 */
export type Enrollment = { handle: Handle, display_name: DisplayName, 
/**
 * His address, when the inviter gave one it vouches for; absent (an address the site's provider has not verified), the page asks him for it.
 */
email?: Email, };

/**
 * Where a member stands.
 */
export type MemberStatus = "active" | "disabled" | "invited";

/**
 * A member as the site's backend sees him.
 */
export type AdminMember = { handle: Handle, display_name: DisplayName, status: MemberStatus, 
/**
 * Registration (or, while invited, invitation) time, milliseconds since the Unix epoch.
 */
created_at: number, 
/**
 * His contact page, where guests write to him.
 */
contact_url: string, };

/**
 * Every member and pending invitation, by handle.
 */
export type AdminMemberList = { members: Array<AdminMember>, };

/**
 * Invite a member: he gets a one-time enrollment link where he sets up his key.
 */
export type InviteRequest = { handle: Handle, display_name: DisplayName, 
/**
 * His address, for notices (stored sealed) and the invitation.
 */
email: Email, 
/**
 * E-mail the enrollment link to `email` through the outbox (default: only return it).
 */
send_email?: boolean, 
/**
 * The invitation's language, a language tag (`de`, `de-AT`): its mail is written in the best match among the server's languages, English if none fits (default: English).
 */
language?: string, };

/**
 * A new invitation.
 */
export type Invited = { member: AdminMember, 
/**
 * The one-time enrollment link; its token is in the fragment. A secret: hand it only to the member.
 */
enrollment_url: string, 
/**
 * When the link stops working, milliseconds since the Unix epoch.
 */
expires_at: number, 
/**
 * Whether the link was queued for e-mail.
 */
emailed: boolean, 
/**
 * The language the invitation is written in (its mail, if sent): `en`, `de`.
 */
language: string, };

/**
 * Add a webhook endpoint.
 */
export type AddWebhook = { 
/**
 * Where events are POSTed: `https://…`, or `http://` to a loopback address (tests). No user name, password or fragment.
 */
url: string, };

/**
 * A webhook endpoint and how its delivery goes.
 */
export type WebhookView = { 
/**
 * Its id (32 hex digits); its secret is derived from it.
 */
id: string, url: string, 
/**
 * When it was added, milliseconds since the Unix epoch.
 */
created_at: number, 
/**
 * The sequence number of the last event it acknowledged.
 */
delivered_through: number, 
/**
 * Failed attempts at the next event (0: none failed).
 */
failed_attempts: number, 
/**
 * The last failure's class (`http_500`, `timeout`, `connect`, …), never what the receiver answered; absent while deliveries succeed.
 */
last_error?: string, 
/**
 * After a failure: not retried before this, milliseconds since the Unix epoch.
 */
next_attempt_at?: number, };

/**
 * Every webhook endpoint, oldest first.
 */
export type WebhookList = { webhooks: Array<WebhookView>, };

/**
 * A new endpoint, with its secret: shown this once, stored nowhere.
 */
export type WebhookAdded = { webhook: WebhookView, 
/**
 * The signing secret, `whsec_` and base64: give it to the receiver's Standard Webhooks library. A secret.
 */
secret: string, };

/**
 * The inbox's query: a page of conversations.
 */
export type ListQuery = { 
/**
 * `next_before` of the previous page.
 */
before?: string, 
/**
 * At most this many (the server caps it; 50 if absent).
 */
limit?: number, };

/**
 * A conversation's query: a page of messages.
 */
export type MessagesQuery = { 
/**
 * Messages after this sequence number (0 if absent).
 */
after?: number, 
/**
 * At most this many (the server caps it; 50 if absent).
 */
limit?: number, };

/** Every error code the API answers with. */
export type ErrorCode =
  | 'malformed_json'
  | 'unreadable_body'
  | 'invalid_path'
  | 'invalid_query'
  | 'invalid_cursor'
  | 'not_signed_in'
  | 'login_failed'
  | 'bad_token'
  | 'bad_origin'
  | 'wrong_address'
  | 'wrong_conversation'
  | 'reauthentication_required'
  | 'registration_closed'
  | 'recovery_failed'
  | 'missing_scope'
  | 'member_disabled'
  | 'invalid_invite'
  | 'passwords_disabled'
  | 'oidc_not_configured'
  | 'no_route'
  | 'unknown_member'
  | 'unknown_conversation'
  | 'unknown_link'
  | 'unknown_passkey'
  | 'no_passkey'
  | 'unknown_webhook'
  | 'not_found'
  | 'method_not_allowed'
  | 'handle_taken'
  | 'identity_key_taken'
  | 'passkey_exists'
  | 'last_passkey'
  | 'conversation_exists'
  | 'message_id_taken'
  | 'grant_exists'
  | 'link_used'
  | 'link_expired'
  | 'registration_expired'
  | 'body_too_large'
  | 'message_too_large'
  | 'not_json'
  | 'invalid_field'
  | 'invalid_handle'
  | 'invalid_webhook_url'
  | 'invalid_email'
  | 'invalid_display_name'
  | 'invalid_opaque_message'
  | 'invalid_public_key'
  | 'invalid_sealed_identity'
  | 'invalid_sealed_key'
  | 'invalid_ciphertext'
  | 'invalid_grant_id'
  | 'invalid_passkey'
  | 'invalid_wrapped_key'
  | 'invalid_link'
  | 'link_mismatch'
  | 'guest_cannot_grant'
  | 'link_without_grant'
  | 'invalid_recovery'
  | 'invalid_recovery_proof'
  | 'invalid_registration_token'
  | 'invalid_identity_proof'
  | 'rate_limited'
  | 'internal'
  | 'streams_full'
  | 'not_ready';
