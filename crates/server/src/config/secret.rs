//! [`SecretString`], the type of every configured secret.

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A configured secret: not `Clone`, not `Serialize`, printed as `***`,
/// wiped from memory when dropped.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// A secret from its text (tests, and defaults built in code).
    pub fn new(text: impl Into<String>) -> SecretString {
        SecretString(Zeroizing::new(text.into()))
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    /// A string; a TOML number is taken as its digits, so that a numeric
    /// code never reaches an "invalid type: found 1234" error message.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = SecretString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretString, E> {
                Ok(SecretString::new(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SecretString, E> {
                Ok(SecretString(Zeroizing::new(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SecretString, E> {
                Ok(SecretString::new(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SecretString, E> {
                Ok(SecretString::new(v.to_string()))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load_env;

    #[test]
    fn secrets_are_not_printed() {
        let config = load_env(&[
            ("LATCHKEY_DATABASE_URL", "postgres://u:pa55word@db/latchkey"),
            ("LATCHKEY_REGISTRATION_CODE", "open sesame"),
        ])
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("pa55word") && !debug.contains("open sesame"));
        assert_eq!(
            config.database_url.expose(),
            "postgres://u:pa55word@db/latchkey"
        );
    }
}
