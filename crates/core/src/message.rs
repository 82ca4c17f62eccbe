//! The message plaintext: a small versioned structure, padded before
//! encryption so that ciphertext lengths reveal only a 256-byte bucket.
//!
//! ```text
//! version        u8      = 1
//! sent_at_ms     u64 BE  milliseconds since the Unix epoch, sender's clock
//! body_len       u32 BE
//! body           UTF-8
//! has_intro      u8      0 or 1
//! [email_len u16 BE, email UTF-8, name_len u16 BE, name UTF-8]   if has_intro
//! zero bytes     until the total length is a multiple of 256
//! ```

use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::encoding::Reader;
use crate::{ConversationId, Error, MessageId, Role};

/// Plaintext lengths are rounded up to a multiple of this.
pub const PADDING_BLOCK: usize = 256;
const PLAINTEXT_VERSION: u8 = 1;
const WHAT: &str = "message plaintext";

/// Where a message belongs. Bound into its associated data, so a server that
/// moves a ciphertext to another conversation, renames it, or flips its
/// sender makes it undecryptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageContext {
    /// The conversation.
    pub conversation: ConversationId,
    /// This message's id.
    pub message: MessageId,
    /// Who wrote it.
    pub sender: Role,
}

/// Who the guest says he is; carried by the guest's first message only, so
/// that his address reaches the member end-to-end encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct GuestIntroduction {
    /// The guest's e-mail address, as he typed it.
    pub email: String,
    /// The name he gave (may be empty).
    pub display_name: String,
}

/// A message as its author wrote it.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// When the author sent it, by his clock (ms since the Unix epoch).
    pub sent_at_ms: u64,
    /// The text. Rendered as text, never as markup.
    pub body: String,
    /// Present in the guest's first message only.
    pub introduction: Option<GuestIntroduction>,
}

impl Message {
    pub(crate) fn encode_padded(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let too_long = |_| Error::Malformed {
            what: WHAT,
            reason: "a field is longer than its length prefix allows",
        };
        let body_len = u32::try_from(self.body.len()).map_err(too_long)?;
        let mut out = Zeroizing::new(Vec::with_capacity(self.unpadded_len() + PADDING_BLOCK));
        out.push(PLAINTEXT_VERSION);
        out.extend_from_slice(&self.sent_at_ms.to_be_bytes());
        out.extend_from_slice(&body_len.to_be_bytes());
        out.extend_from_slice(self.body.as_bytes());
        match &self.introduction {
            None => out.push(0),
            Some(intro) => {
                out.push(1);
                for field in [&intro.email, &intro.display_name] {
                    let len = u16::try_from(field.len()).map_err(too_long)?;
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(field.as_bytes());
                }
            }
        }
        let padded = out.len().div_ceil(PADDING_BLOCK) * PADDING_BLOCK;
        out.resize(padded, 0);
        Ok(out)
    }

    fn unpadded_len(&self) -> usize {
        let intro = self
            .introduction
            .as_ref()
            .map_or(0, |i| 4 + i.email.len() + i.display_name.len());
        1 + 8 + 4 + self.body.len() + 1 + intro
    }

    /// Parses strictly: known version, valid UTF-8, a flag of 0 or 1, padding
    /// of zeros only, and a total length that is a multiple of 256.
    pub(crate) fn decode_padded(bytes: &[u8]) -> Result<Message, Error> {
        let malformed = |reason| Error::Malformed { what: WHAT, reason };
        if !bytes.len().is_multiple_of(PADDING_BLOCK) {
            return Err(malformed("length is not a multiple of 256"));
        }
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != PLAINTEXT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                found: version,
            });
        }
        let sent_at_ms = r.u64()?;
        let body_len = r.u32()? as usize;
        let body = utf8(r.take(body_len)?)?;
        let introduction = match r.u8()? {
            0 => None,
            1 => {
                let email_len = usize::from(r.u16()?);
                let email = utf8(r.take(email_len)?)?;
                let name_len = usize::from(r.u16()?);
                let display_name = utf8(r.take(name_len)?)?;
                Some(GuestIntroduction {
                    email,
                    display_name,
                })
            }
            _ => return Err(malformed("introduction flag is neither 0 nor 1")),
        };
        let padding = r.rest();
        if padding.len() >= PADDING_BLOCK {
            return Err(malformed("more padding than one block"));
        }
        if padding.iter().any(|&b| b != 0) {
            return Err(malformed("padding is not all zeros"));
        }
        Ok(Message {
            sent_at_ms,
            body,
            introduction,
        })
    }
}

fn utf8(bytes: &[u8]) -> Result<String, Error> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Malformed {
        what: WHAT,
        reason: "text is not valid UTF-8",
    })
}

impl Drop for Message {
    fn drop(&mut self) {
        self.body.zeroize();
    }
}

impl Drop for GuestIntroduction {
    fn drop(&mut self) {
        self.email.zeroize();
        self.display_name.zeroize();
    }
}

/// Never prints the text or the address, only their sizes.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("sent_at_ms", &self.sent_at_ms)
            .field("body_len", &self.body.len())
            .field("introduction", &self.introduction)
            .finish()
    }
}

impl fmt::Debug for GuestIntroduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GuestIntroduction(***)")
    }
}
