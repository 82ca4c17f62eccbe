//! The typed entities the store takes and returns, and that the layers
//! above it work with: ids instead of hex strings, `bool` instead of 0/1,
//! enums instead of magic numbers and words, `Option` instead of `''`.
//!
//! Rows become these types at the store boundary and nowhere else. A stored
//! value none of them can represent (sender 7, grant kind 'foo', a session
//! with two owners) is [`crate::store::StoreError::Corrupt`], never a
//! default: guessing "guest" for an unknown sender would mislabel a message.

use std::fmt;

use latchkey_api::{DisplayName, Handle};
use latchkey_core::{ConversationId, MessageId, OsRng, RngCore, Role};

pub use crate::i18n::Language;

/// A point in time: milliseconds since the Unix epoch, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A [`Timestamp`] as a UTC calendar date and time.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    milli: i64,
}

impl Timestamp {
    /// `YYYY-MM-DDTHH:MM:SSZ` in UTC (RFC 3339), for people (the CLI).
    pub fn rfc3339_seconds(self) -> String {
        let c = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC (RFC 3339), for machines (webhooks).
    pub fn rfc3339_millis(self) -> String {
        let c = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli
        )
    }

    /// The UTC calendar date and time (days to a civil date as in Howard
    /// Hinnant's `civil_from_days`; no time-zone database needed).
    fn civil(self) -> Civil {
        let secs = self.0.div_euclid(1000);
        let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: rest / 3600,
            minute: rest % 3600 / 60,
            second: rest % 60,
            milli: self.0.rem_euclid(1000),
        }
    }

    /// The time `ms` milliseconds after the epoch.
    pub const fn from_ms(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    /// The wall clock, now.
    pub fn now() -> Timestamp {
        Timestamp(crate::time::now_ms())
    }

    /// Milliseconds since the epoch.
    pub const fn as_ms(self) -> i64 {
        self.0
    }

    /// `ms` later (saturating: "never" stays representable).
    pub const fn plus_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// `ms` earlier (saturating).
    pub const fn minus_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_sub(ms))
    }
}

/// 32 lower-case hex digits: the only text form of a 16-byte id the server
/// writes, so the only one it reads back.
pub(crate) fn is_lower_hex32(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A member's internal id: 16 random bytes, stored and shown as 32
/// lower-case hex digits. Never shown to guests (they know the handle).
///
/// There is deliberately no `as_bytes`: the sealed e-mail address uses the
/// *hex text* as its context ([`MemberId::to_hex`]), and a raw-bytes method
/// next to it would be one typo away from unreadable addresses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId([u8; 16]);

impl MemberId {
    /// A fresh random id.
    pub fn generate() -> MemberId {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        MemberId(bytes)
    }

    /// Parses the stored form: exactly 32 lower-case hex digits.
    pub fn parse(text: &str) -> Option<MemberId> {
        if !is_lower_hex32(text) {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (out, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let digits = std::str::from_utf8(pair).ok()?;
            *out = u8::from_str_radix(digits, 16).ok()?;
        }
        Some(MemberId(bytes))
    }

    /// The stored (and logged) form: 32 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberId({self})")
    }
}

/// The recovery key's half of a member: both parts or neither.
#[derive(Clone)]
pub struct MemberRecovery {
    /// The private key sealed under the recovery key's KEK.
    pub sealed_identity: Vec<u8>,
    /// SHA-256 of the recovery proof.
    pub verifier: Vec<u8>,
}

impl fmt::Debug for MemberRecovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemberRecovery(***)")
    }
}

/// A member's password: the OPAQUE password file, and the private key
/// sealed under the KEK his password gives. A member who set up his key
/// with a passkey has none until he adds one.
#[derive(Clone)]
pub struct MemberPassword {
    /// OPAQUE password file.
    pub file: Vec<u8>,
    /// Private key sealed under the password's KEK (opaque to the server).
    pub sealed_identity: Vec<u8>,
}

impl fmt::Debug for MemberPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemberPassword(***)")
    }
}

/// A registered member.
#[derive(Clone)]
pub struct Member {
    /// Internal id.
    pub id: MemberId,
    /// Public, unique, lower-case.
    pub handle: Handle,
    /// Shown to guests.
    pub display_name: DisplayName,
    /// E-mail address, sealed with the member-email key (context: the id's
    /// hex text).
    pub email_sealed: Vec<u8>,
    /// His password, if he has one.
    pub password: Option<MemberPassword>,
    /// X25519 public key.
    pub identity_public: Vec<u8>,
    /// Registration time.
    pub created_at: Timestamp,
    /// The recovery key's part, if he made one.
    pub recovery: Option<MemberRecovery>,
    /// The language of his notices: the one he last signed in with.
    pub language: Language,
}

/// Password files and sealed keys stay out of logs.
impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

/// A conversation between a member and a guest.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// Chosen at random by the guest's browser.
    pub id: ConversationId,
    /// The member it belongs to.
    pub member_id: MemberId,
    /// The conversation key, HPKE-sealed to the member.
    pub sealed_key: Vec<u8>,
    /// The address his links go to, sealed with the guest-email key
    /// (context: the id's hex text).
    pub guest_email_sealed: Vec<u8>,
    /// The guest has redeemed a link (his address is confirmed).
    pub confirmed: bool,
    /// Sequence number of the newest message.
    pub last_seq: i64,
    /// Newest message the member has read.
    pub member_read_seq: i64,
    /// When the guest last asked for a new link, if that is still pending.
    pub link_requested_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Time of the newest message.
    pub last_activity_at: Timestamp,
    /// The language of the guest's link mails: his first contact's, then
    /// his latest new-link request's.
    pub guest_language: Language,
}

/// A conversation with its unread count, for the member's inbox. Counting
/// costs a look at the messages, so only the inbox pays it, not every
/// access check.
#[derive(Clone, Debug)]
pub struct InboxEntry {
    /// The conversation.
    pub conversation: Conversation,
    /// Guest messages after the member's read mark; his own never count.
    pub unread: i64,
}

/// A stored message.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    /// Order within the conversation, assigned by the server (from 1).
    pub seq: i64,
    /// Chosen by the sender, bound into the ciphertext.
    pub message_id: MessageId,
    /// Who wrote it (bound into the ciphertext too).
    pub sender: Role,
    /// The ciphertext, opaque to the server.
    pub ciphertext: Vec<u8>,
    /// When the server stored it.
    pub created_at: Timestamp,
}

/// A message to store.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Chosen by the sender.
    pub message_id: MessageId,
    /// Who wrote it.
    pub sender: Role,
    /// The ciphertext.
    pub ciphertext: Vec<u8>,
}

/// Why a grant exists: coalescing treats them differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantKind {
    /// The guest's first link, mailed when he writes to a member.
    FirstContact,
    /// A link with a member's message.
    Message,
    /// A link answering the guest's new-link request.
    Requested,
    /// A link the member hands over himself (never e-mailed).
    Manual,
}

impl GrantKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::FirstContact => "first_contact",
            GrantKind::Message => "message",
            GrantKind::Requested => "requested",
            GrantKind::Manual => "manual",
        }
    }

    /// The kind a stored word names; `None` for any other word.
    pub fn parse(word: &str) -> Option<GrantKind> {
        [
            GrantKind::FirstContact,
            GrantKind::Message,
            GrantKind::Requested,
            GrantKind::Manual,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == word)
    }
}

/// A grant to store.
#[derive(Clone, Debug)]
pub struct NewGrant {
    /// Why it exists.
    pub kind: GrantKind,
    /// SHA-256 of the grant id.
    pub id_hash: [u8; 32],
    /// The conversation key wrapped under the link key, sealed again under
    /// the key of `epoch` (`latchkey_core::epoch`).
    pub sealed_key: Vec<u8>,
    /// The epoch whose key sealed it.
    pub epoch: u64,
    /// The link goes out by e-mail (else the member delivers it himself).
    pub emailed: bool,
    /// When an unredeemed link dies.
    pub expires_at: Timestamp,
}

/// A grant stored before epoch keys: its id hash and bare wrapped key.
#[derive(Debug)]
pub struct UnsealedGrant {
    /// SHA-256 of the grant id.
    pub id_hash: [u8; 32],
    /// The conversation key wrapped under the link key, not yet sealed.
    pub wrapped_key: Vec<u8>,
}

/// A grant sealed under an epoch key, as stored.
#[derive(Debug)]
pub struct SealedGrant {
    /// SHA-256 of the grant id.
    pub id_hash: [u8; 32],
    /// The epoch whose key sealed it.
    pub epoch: u64,
    /// The sealed wrapped key.
    pub sealed_key: Vec<u8>,
}

/// A redeemable grant.
#[derive(Clone, Debug)]
pub struct Redeemed {
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The wrapped conversation key as stored: sealed under the key of
    /// `epoch`, or (with no epoch) bare, from before epoch keys.
    pub sealed_key: Vec<u8>,
    /// The epoch whose key sealed it.
    pub epoch: Option<u64>,
    /// The blind index of the guest's address: a redeem must name it.
    pub guest_email_index: [u8; 32],
}

/// Why a grant is gone (what its remembered hash answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpentReason {
    /// Redeemed, and its grace window is over.
    Used,
    /// Never redeemed in time.
    Expired,
}

impl SpentReason {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            SpentReason::Used => "used",
            SpentReason::Expired => "expired",
        }
    }

    /// The reason a stored word names; `None` for any other word.
    pub fn parse(word: &str) -> Option<SpentReason> {
        [SpentReason::Used, SpentReason::Expired]
            .into_iter()
            .find(|reason| reason.as_str() == word)
    }
}

/// What a link is worth right now.
#[derive(Clone, Debug)]
pub enum GrantState {
    /// It opens its conversation.
    Valid(Redeemed),
    /// It is gone, for this reason.
    Spent(SpentReason),
    /// No such link (or its conversation was deleted).
    Unknown,
}

/// Whose session it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionOwner {
    /// A signed-in member.
    Member(MemberId),
    /// A guest, for this conversation only.
    Guest(ConversationId),
}

/// A live session.
#[derive(Clone, Debug)]
pub struct Session {
    /// SHA-256 of the cookie token.
    pub token_hash: Vec<u8>,
    /// Who.
    pub owner: SessionOwner,
    /// When it began (the sign-in, for a member).
    pub created_at: Timestamp,
}

/// A mail to queue. The payload is sealed with the outbox key, its context
/// the row id, so a row's payload cannot be replayed under another id.
#[derive(Clone, Debug)]
pub struct NewMail {
    /// Row id (32 lower-case hex digits; the sealing context).
    pub id: String,
    /// Sealed payload (recipient, kind, link).
    pub payload_sealed: Vec<u8>,
    /// The budgets it spends; over any of them it is not queued.
    pub budgets: Vec<MailBudget>,
    /// How far back a budget counts (milliseconds).
    pub window_ms: i64,
}

/// Which kind of key a mail budget is counted per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailScope {
    /// One conversation: its links and its member's notices.
    Conversation,
    /// One member: the links his messages and his client send.
    Member,
    /// One recipient: a guest's address (its blind index), or a member's
    /// own notices.
    Recipient,
}

impl MailScope {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            MailScope::Conversation => "conversation",
            MailScope::Member => "member",
            MailScope::Recipient => "recipient",
        }
    }
}

/// One budget a mail spends: at most `limit` mails per key and window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailBudget {
    /// What the key stands for.
    pub scope: MailScope,
    /// A keyed hash (or blind index): never an address or id in clear.
    pub key_hash: [u8; 32],
    /// Mails per window; 0 turns this budget off.
    pub limit: u32,
}

/// What became of the e-mail a change asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailOutcome {
    /// Queued in the outbox.
    Queued,
    /// Not queued: an earlier, unused link covers it (the grant is dropped).
    Coalesced,
    /// Not queued: a mail budget is spent (what it announced is stored).
    Capped,
    /// No mail asked for, or nothing was stored.
    Nothing,
}

/// A mail this worker holds the lease for.
#[derive(Clone, Debug)]
pub struct ClaimedMail {
    /// Row id.
    pub id: String,
    /// Sealed payload.
    pub payload_sealed: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Proves the lease is still ours when completing.
    pub lease_token: String,
}

/// Everything a guest's first contact stores.
#[derive(Debug)]
pub struct NewConversation {
    /// Chosen by the guest's browser.
    pub id: ConversationId,
    /// The member contacted.
    pub member_id: MemberId,
    /// The conversation key, sealed to the member.
    pub sealed_key: Vec<u8>,
    /// The guest's address, sealed with the guest-email key.
    pub guest_email_sealed: Vec<u8>,
    /// Blind index of the guest's address.
    pub guest_email_index: Vec<u8>,
    /// The first message.
    pub message: NewMessage,
    /// The guest's first link.
    pub grant: NewGrant,
    /// The e-mail carrying it.
    pub mail: NewMail,
    /// The language the guest wrote in (his later mails use it).
    pub guest_language: Language,
}

/// What posting a message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The message's sequence number.
    pub seq: i64,
    /// The same message (id and bytes) was already stored: nothing changed.
    pub duplicate: bool,
    /// An e-mail was queued.
    pub mail_queued: bool,
    /// An e-mail was asked for but a mail budget is spent.
    pub mail_capped: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn member_ids_round_trip_as_lower_hex_only() {
        let id = MemberId::generate();
        let text = id.to_hex();
        assert_eq!(text.len(), 32);
        assert_eq!(MemberId::parse(&text), Some(id));
        assert_eq!(MemberId::parse(&text.to_uppercase()), None);
        assert_eq!(MemberId::parse(""), None);
        assert_eq!(MemberId::parse(&"0".repeat(31)), None);
        assert_eq!(MemberId::parse(&"g".repeat(32)), None);
        assert_eq!(MemberId::parse("+1234567890abcdef1234567890abcde"), None);
    }

    #[test]
    fn stored_words_parse_back_and_nothing_else_does() {
        for kind in [
            GrantKind::FirstContact,
            GrantKind::Message,
            GrantKind::Requested,
            GrantKind::Manual,
        ] {
            assert_eq!(GrantKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(GrantKind::parse("foo"), None);
        assert_eq!(GrantKind::parse("Message"), None);
        for reason in [SpentReason::Used, SpentReason::Expired] {
            assert_eq!(SpentReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(SpentReason::parse("x"), None);
    }

    #[test]
    fn timestamps_format_as_rfc3339_in_utc() {
        let at = |ms| Timestamp::from_ms(ms);
        assert_eq!(at(0).rfc3339_seconds(), "1970-01-01T00:00:00Z");
        assert_eq!(
            at(951_782_400_000).rfc3339_seconds(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            at(1_798_761_599_000).rfc3339_seconds(),
            "2026-12-31T23:59:59Z"
        );
        assert_eq!(at(0).rfc3339_millis(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            at(951_782_400_123).rfc3339_millis(),
            "2000-02-29T00:00:00.123Z"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let member = Member {
            id: MemberId::generate(),
            handle: Handle::parse("ann").unwrap(),
            display_name: DisplayName::parse("Ann").unwrap(),
            email_sealed: vec![1; 40],
            password: Some(MemberPassword {
                file: vec![0xab; 40],
                sealed_identity: vec![0xcd; 40],
            }),
            identity_public: vec![3; 32],
            created_at: Timestamp::from_ms(1),
            recovery: Some(MemberRecovery {
                sealed_identity: vec![0xef; 40],
                verifier: vec![0x99; 32],
            }),
            language: crate::i18n::Language::ENGLISH,
        };
        let shown = format!("{member:?} {:?} {:?}", member.recovery, member.password);
        assert!(shown.contains("ann"));
        for secret in ["171", "205", "239", "153", "ab", "cd", "ef"] {
            assert!(!shown.contains(&format!("{secret}, ")), "{shown}");
        }
    }
}
