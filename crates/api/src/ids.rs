//! Ids on the wire: 16 bytes as 32 lower-case hex digits. Conversation and
//! message ids are made by clients and bound into ciphertexts (the core's
//! types inside); a login id is made by the server.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::schema::string_schema;

#[cfg_attr(not(feature = "openapi"), allow(dead_code))]
const HEX32_PATTERN: &str = "^[0-9a-f]{32}$";

/// Exactly 32 lower-case hex digits (the core also reads upper case; the
/// wire does not, so an id has one spelling).
fn is_hex32(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

macro_rules! core_id {
    ($(#[$meta:meta])* $name:ident, $core:ty, $description:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $core);

        impl $name {
            /// Parses 32 lower-case hex digits.
            pub fn parse(text: &str) -> Option<$name> {
                if !is_hex32(text) {
                    return None;
                }
                text.parse::<$core>().ok().map($name)
            }
        }

        impl From<$core> for $name {
            fn from(id: $core) -> Self {
                $name(id)
            }
        }

        impl From<$name> for $core {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom("an id is 32 lower-case hexadecimal digits")
                })
            }
        }

        string_schema!(
            $name,
            description: $description,
            pattern: Some(HEX32_PATTERN),
            min: None,
            max: None
        );
    };
}

core_id!(
    /// A conversation, named by the guest's browser when it starts one.
    ConversationId,
    latchkey_core::ConversationId,
    "A conversation id: 16 random bytes as 32 lower-case hex digits, made by the guest's browser."
);

core_id!(
    /// A message, named by its sender before encrypting.
    MessageId,
    latchkey_core::MessageId,
    "A message id: 16 random bytes as 32 lower-case hex digits, made by its sender."
);

/// The server's name for a login between its two requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginId(String);

impl LoginId {
    /// Parses 32 lower-case hex digits.
    pub fn parse(text: &str) -> Option<LoginId> {
        is_hex32(text).then(|| LoginId(text.to_owned()))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for LoginId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LoginId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        LoginId::parse(&text).ok_or_else(|| {
            serde::de::Error::custom("a login id is 32 lower-case hexadecimal digits")
        })
    }
}

string_schema!(
    LoginId,
    description: "A login in progress, named by the server: 32 lower-case hex digits.",
    pattern: Some(HEX32_PATTERN),
    min: None,
    max: None
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_are_32_lower_case_hex_digits() {
        assert!(ConversationId::parse(&"a".repeat(32)).is_some());
        for bad in ["", &"A".repeat(32), &"a".repeat(31), &"g".repeat(32)] {
            assert!(ConversationId::parse(bad).is_none(), "{bad}");
            assert!(serde_json::from_value::<MessageId>(bad.into()).is_err());
        }
        let id = ConversationId::parse(&"0f".repeat(16)).unwrap();
        assert_eq!(serde_json::to_value(id).unwrap(), "0f".repeat(16));
    }
}
