//! The text fields with rules: a handle, an e-mail address, a display name.
//! Each `parse` is the one rule; server, client and the OpenAPI document all
//! use it, so they cannot disagree.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{field_error, ErrorCode};
use crate::schema::string_schema;

/// A value that broke a field's rule: the code the server answers with and
/// a message saying what to fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The API error code (`invalid_handle`, …).
    pub code: ErrorCode,
    /// What a valid value looks like.
    pub message: &'static str,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for FieldError {}

/// Implements the string serde forms of a field type from its `parse` and
/// `as_str`; a deserialised value that breaks the rule carries its code.
macro_rules! text_field {
    ($ty:ident) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $ty::parse(&text).map_err(|e| field_error(e.code, e.message))
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = FieldError;
            fn from_str(text: &str) -> Result<Self, FieldError> {
                $ty::parse(text)
            }
        }
    };
}

/// A member's public name in URLs: 3–32 characters of `a-z`, `0-9` and
/// `-`, not starting or ending with `-`. Parsing trims and folds upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(String);

const HANDLE_RULE: &str =
    "A handle has 3 to 32 characters: letters a-z, digits and '-', not at either end.";

impl Handle {
    /// Trims, folds to lower case, and checks the rule.
    pub fn parse(text: &str) -> Result<Handle, FieldError> {
        let handle = text.trim().to_ascii_lowercase();
        let ok = (3..=32).contains(&handle.len())
            && handle
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !handle.starts_with('-')
            && !handle.ends_with('-');
        if ok {
            Ok(Handle(handle))
        } else {
            Err(FieldError {
                code: ErrorCode::InvalidHandle,
                message: HANDLE_RULE,
            })
        }
    }

    /// The canonical (lower-case) handle.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

text_field!(Handle);
string_schema!(
    Handle,
    description: "A member's handle: 3 to 32 characters of a-z, 0-9 and '-', not at either end. The server trims and folds upper case before it checks.",
    pattern: Some(r"^\s*[A-Za-z0-9](?:[A-Za-z0-9-]{1,30})[A-Za-z0-9]\s*$"),
    min: Some(3),
    max: None
);

/// An e-mail address, checked for shape only (the e-mail with the link is
/// the real test): the rule of the browser's `<input type=email>` (ASCII;
/// a browser sends an internationalised domain in its `xn--` form), with a
/// dot-atom before the `@` and at least one dot after it, at most 254
/// characters. Every address it accepts, the mail library accepts as a
/// recipient. Being a pattern, the rule is exactly what the API document
/// says.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

const EMAIL_RULE: &str = "This is not an e-mail address (expected name@example.org).";

/// RFC 5322 `atext`: what a dot-atom's atoms are made of.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b)
}

/// A DNS label: 1–63 of `a-z`, `0-9`, `-`, not starting or ending with `-`.
fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl Email {
    /// Checks the length, trims, and checks the shape. The case is kept:
    /// mail goes where he said.
    pub fn parse(text: &str) -> Result<Email, FieldError> {
        let address = text.trim();
        let shaped = text.len() <= 254
            && match address.split_once('@') {
                Some((local, domain)) => {
                    local
                        .split('.')
                        .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
                        && domain.contains('.')
                        && domain.split('.').all(is_label)
                }
                None => false,
            };
        if shaped {
            Ok(Email(address.to_owned()))
        } else {
            Err(FieldError {
                code: ErrorCode::InvalidEmail,
                message: EMAIL_RULE,
            })
        }
    }

    /// The address as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An address is personal data: it never reaches a log by `{:?}`.
impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Email(***)")
    }
}

text_field!(Email);
string_schema!(
    Email,
    description: "An e-mail address: dot-separated atoms of a-z, 0-9 and !#$%&'*+/=?^_`{|}~- before the '@'; two or more DNS labels after it (an internationalised domain in its xn-- form); at most 254 characters.",
    pattern: Some(r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\s*$"),
    min: None,
    max: Some(254)
);

/// A name shown to the other side: 1–80 characters after trimming, no
/// control characters and no characters that reorder text around them (in a
/// name they can make "Ann <bank@example.org>" appear where something else
/// is written).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

const DISPLAY_NAME_RULE: &str =
    "A display name has 1 to 80 characters and no control or text-direction characters.";

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl DisplayName {
    /// Trims and checks the rule.
    pub fn parse(text: &str) -> Result<DisplayName, FieldError> {
        let name = text.trim();
        let count = name.chars().count();
        if (1..=80).contains(&count) && !name.chars().any(|c| c.is_control() || is_bidi_control(c))
        {
            Ok(DisplayName(name.to_owned()))
        } else {
            Err(FieldError {
                code: ErrorCode::InvalidDisplayName,
                message: DISPLAY_NAME_RULE,
            })
        }
    }

    /// The name, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

text_field!(DisplayName);
string_schema!(
    DisplayName,
    description: "A display name: 1 to 80 characters after trimming, no control or text-direction characters.",
    // Control characters (Cc) and text-direction controls, written with
    // escapes every regular-expression dialect reads.
    pattern: Some(r"^[^\x00-\x1F\x7F-\x9F\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"),
    min: Some(1),
    max: None
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn handles() {
        assert_eq!(Handle::parse(" Bob-1 ").unwrap().as_str(), "bob-1");
        for bad in ["ab", "-bob", "bob-", "bo b", "bøb", &"a".repeat(33)] {
            assert_eq!(
                Handle::parse(bad).unwrap_err().code,
                ErrorCode::InvalidHandle,
                "{bad}"
            );
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" ann@example.org ").unwrap().as_str(),
            "ann@example.org"
        );
        for bad in [
            "ann",
            "ann@",
            "@x.org",
            "a@b",
            "a b@x.org",
            "a@x.org.",
            "a@@x.org",
            "<a@x.org>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{:?}", Email::parse("ann@example.org").unwrap()).contains("ann"));
    }

    #[test]
    fn display_names() {
        assert_eq!(DisplayName::parse(" Ann ").unwrap().as_str(), "Ann");
        assert!(DisplayName::parse("").is_err());
        assert!(DisplayName::parse("a\u{7}").is_err());
        assert!(DisplayName::parse("Ann \u{202E}gro.elpmaxe@knab").is_err());
        assert!(DisplayName::parse("Zoë Ångström").is_ok());
        assert!(DisplayName::parse(&"é".repeat(81)).is_err());
    }

    #[test]
    fn a_broken_rule_deserialises_to_its_code() {
        let err = serde_json::from_str::<Handle>("\"-no-\"").unwrap_err();
        let text = err.to_string();
        let (code, message) = crate::tagged_field_error(&text).unwrap();
        assert_eq!(code, ErrorCode::InvalidHandle);
        assert!(message.starts_with(HANDLE_RULE), "{message}");
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_judged_without_panicking(text in "\\PC*") {
            if let Ok(h) = Handle::parse(&text) {
                proptest::prop_assert!(h.as_str().len() >= 3 && h.as_str().len() <= 32);
                proptest::prop_assert_eq!(Handle::parse(h.as_str()).ok(), Some(h.clone()));
            }
            if let Ok(e) = Email::parse(&text) {
                proptest::prop_assert!(e.as_str().contains('@') && !e.as_str().contains(' '));
                proptest::prop_assert_eq!(Email::parse(e.as_str()).ok(), Some(e.clone()));
            }
            if let Ok(n) = DisplayName::parse(&text) {
                proptest::prop_assert!(!n.as_str().chars().any(char::is_control));
            }
        }

    }
}
