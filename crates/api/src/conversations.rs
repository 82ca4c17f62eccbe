//! Conversations and their messages.

use crate::wire::{bodies, wire_enums};
use crate::{ConversationId, Email, GrantId, LinkFragment, MessageId, PublicMember, B64};

bodies! {
    /// A message as posted.
    pub struct MessageInput {
        /// Made by the sender; bound into the ciphertext.
        pub message_id: MessageId,
        /// The encrypted, padded message: 41 + 256·k bytes, k ≥ 1.
        pub ciphertext: B64,
    }

    /// A link's server half: its grant id and the wrapped conversation key.
    pub struct GrantInput {
        pub grant_id: GrantId,
        /// The conversation key wrapped under the link's wrap key (73 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub wrapped_key: B64,
    }

    /// A guest's first contact.
    pub struct StartConversation {
        /// Where the guest's links go. Stored sealed, with a keyed blind index.
        pub guest_email: Email,
        /// 16 random bytes made by the guest's browser.
        pub conversation_id: ConversationId,
        /// The conversation key HPKE-sealed to the member's identity key (81 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{106}$"))]
        pub sealed_key: B64,
        pub message: MessageInput,
        pub grant: GrantInput,
        /// The guest's first link, for the server to e-mail (this also confirms the address). Must derive `grant.grant_id`.
        pub link: LinkFragment,
    }

    /// The conversation was stored.
    pub struct Started {
        pub conversation_id: ConversationId,
    }

    /// A conversation as its member sees it.
    pub struct ConversationView {
        pub id: ConversationId,
        /// The conversation key sealed to the member (81 bytes).
        pub sealed_key: B64,
        /// The address the guest's links go to (the one `confirmed` is about). The address inside his introduction is whatever his browser wrote; clients compare the two.
        pub guest_email: Email,
        /// The guest has opened a link, so his address is confirmed.
        pub confirmed: bool,
        /// Sequence number of the newest message.
        pub last_seq: i64,
        /// Guest messages after the member's read mark; his own messages never count.
        pub unread: i64,
        /// The guest asked for a new link; the member's client should make one (`addGrant`).
        pub link_requested: bool,
        /// Milliseconds since the Unix epoch, by the server's clock.
        pub created_at: i64,
        /// Time of the newest message.
        pub last_activity_at: i64,
    }

    /// One page of the member's conversations, most recently active first.
    pub struct ConversationPage {
        pub conversations: Vec<ConversationView>,
        /// Pass as `before` for the next page; `null` on the last page.
        #[cfg_attr(feature = "openapi", schema(required = true))]
        pub next_before: Option<String>,
    }

    /// A conversation as its guest sees it.
    pub struct GuestConversationView {
        pub id: ConversationId,
        pub member: PublicMember,
        /// Sequence number of the newest message.
        pub last_seq: i64,
        /// The guest's read-receipt switch on this conversation (on unless he turned it off): whether opening a link tells the member which of his messages were read, and whether the guest sees when the member read his (receipts show only while both sides have them on).
        pub read_receipts: bool,
    }

    /// A stored message.
    pub struct MessageView {
        /// Order in the conversation, from 1, assigned by the server.
        pub seq: i64,
        pub message_id: MessageId,
        pub sender: Sender,
        pub ciphertext: B64,
        /// When the server stored it (milliseconds since the Unix epoch).
        pub created_at: i64,
        /// Read receipt, only on the asker's own messages and only while both sides have receipts on: when the other side read it (milliseconds since the Unix epoch). A member's message counts as read by the guest when a link that carried it was first opened; a link carries every message up to the newest one when it was made (the message it came with included), since its page shows the conversation up to there. A guest's message counts as read when the member's read mark (`markRead`) first reached it. Absent: not read yet, not the asker's message, or receipts off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub read_at: Option<i64>,
    }

    /// One page of messages, oldest first.
    pub struct MessagePage {
        pub messages: Vec<MessageView>,
        /// Pass as `after` for the next page; `null` on the last page.
        #[cfg_attr(feature = "openapi", schema(required = true))]
        pub next_after: Option<i64>,
    }

    /// A message to post, by the member or the guest.
    pub struct PostMessage {
        /// Made by the sender; bound into the ciphertext. Reusing it with other bytes is 409 `message_id_taken`.
        pub message_id: MessageId,
        /// The encrypted, padded message: 41 + 256·k bytes, k ≥ 1.
        pub ciphertext: B64,
        /// Member only: a new link for the guest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub grant: Option<GrantInput>,
        /// Member only, with `grant`: the link for the server to e-mail. Without it the member delivers the link himself and the server never sees it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub link: Option<LinkFragment>,
    }

    /// The message was stored (or was already).
    pub struct PostedView {
        /// The message's sequence number.
        pub seq: i64,
        pub notification: Notification,
    }

    /// A read-receipt switch.
    pub struct ReadReceipts {
        /// On: this side's reading is recorded and shown to the other side, and this side sees the other's (while the other has it on too). Off: nothing of this side's reading is stored (marks made so far are forgotten) and neither side sees receipts.
        pub read_receipts: bool,
    }

    /// The member has read up to here.
    pub struct ReadMark {
        /// Read up to this sequence number.
        pub seq: i64,
    }

    /// A link made outside a message.
    pub struct AddGrant {
        pub grant_id: GrantId,
        /// The conversation key wrapped under the link's wrap key (73 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub wrapped_key: B64,
        /// The link for the server to e-mail; absent when the member delivers it himself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub link: Option<LinkFragment>,
        /// This answers the guest's new-link request: nothing is stored or sent (notification `none`) unless one is still pending, so two clients answering at once send one link.
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<bool>", optional))]
        pub answers_request: bool,
    }

    /// What became of a link made outside a message.
    pub struct GrantAdded {
        /// `queued` with a link; `coalesced` when an earlier e-mailed link is still unused (and no request is answered); `capped` over a daily mail cap; else `none`.
        pub notification: Notification,
    }

    /// The inbox's query: a page of conversations.
    pub struct ListQuery {
        /// `next_before` of the previous page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub before: Option<String>,
        /// At most this many (the server caps it; 50 if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub limit: Option<u32>,
    }

    /// A conversation's query: a page of messages.
    pub struct MessagesQuery {
        /// Messages after this sequence number (0 if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub after: Option<i64>,
        /// At most this many (the server caps it; 50 if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub limit: Option<u32>,
    }
}

wire_enums! {
    /// Who wrote a message (bound into its ciphertext too).
    pub enum Sender {
        /// The member.
        Member,
        /// The guest.
        Guest,
    }

    /// What became of the e-mail a post or a new link could cause: `queued` (an e-mail is queued: the guest's link, or the member's notice); `coalesced` (no e-mail, an earlier one still covers this message; for an e-mailed link, the new grant is not stored either); `capped` (no e-mail: this conversation, this member or this recipient has had the server's most e-mails for the day; the message and grant are stored all the same, the grant as one the member delivers himself); `none` (none asked for: no grant, a grant the member delivers himself, or a repeated post).
    pub enum Notification {
        /// An e-mail is queued.
        Queued,
        /// No e-mail: an earlier one still covers this message.
        Coalesced,
        /// No e-mail: a daily mail cap is reached; everything else is stored.
        Capped,
        /// No e-mail asked for.
        None,
    }
}

impl From<latchkey_core::Role> for Sender {
    fn from(role: latchkey_core::Role) -> Self {
        match role {
            latchkey_core::Role::Member => Sender::Member,
            latchkey_core::Role::Guest => Sender::Guest,
        }
    }
}

impl From<Sender> for latchkey_core::Role {
    fn from(sender: Sender) -> Self {
        match sender {
            Sender::Member => latchkey_core::Role::Member,
            Sender::Guest => latchkey_core::Role::Guest,
        }
    }
}

/// `GET /conversations/{id}` answers the member's view or the guest's,
/// whichever session asks.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum ConversationAnswer {
    /// To its member.
    Member(ConversationView),
    /// To its guest.
    Guest(GuestConversationView),
}
