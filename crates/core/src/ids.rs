//! Identifiers bound into associated data. They are public: the server stores
//! them in clear and routes by them.

use core::fmt;
use core::str::FromStr;

use rand_core::{CryptoRng, RngCore};

use crate::Error;

macro_rules! random_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 16]);

        impl $name {
            /// A fresh random id (128 bits: collisions are not a concern).
            pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                $name(bytes)
            }

            /// Wraps 16 bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                $name(bytes)
            }

            /// The 16 bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        /// 32 lower-case hex digits.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        /// Parses exactly 32 hex digits (either case).
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                parse_hex16(s).map($name).ok_or(Error::Malformed {
                    what: $what,
                    reason: "expected 32 hex digits",
                })
            }
        }
    };
}

random_id!(
    /// Names a conversation; chosen at random by the guest's browser when it
    /// starts one, so that the first message can be bound to it before upload.
    ConversationId,
    "conversation id"
);
random_id!(
    /// Names a message; chosen at random by its sender before encrypting.
    MessageId,
    "message id"
);

fn parse_hex16(s: &str) -> Option<[u8; 16]> {
    let bytes = s.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *out.get_mut(i)? = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Who wrote a message. Bound into its associated data, so the server cannot
/// flip it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The website's member.
    Member,
    /// The guest with only an e-mail address.
    Guest,
}

impl Role {
    /// The byte in associated data: member 1, guest 2.
    pub fn as_byte(self) -> u8 {
        match self {
            Role::Member => 1,
            Role::Guest => 2,
        }
    }
}
