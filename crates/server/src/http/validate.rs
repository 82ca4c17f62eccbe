//! Input rules, each failing with a message that says what to fix.

use super::error::ApiError;

/// A handle: 3–32 characters, `a-z`, `0-9` and `-`, not starting or ending
/// with `-`. Upper case is folded.
pub fn handle(text: &str) -> Result<String, ApiError> {
    let handle = text.trim().to_ascii_lowercase();
    let ok = (3..=32).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !handle.starts_with('-')
        && !handle.ends_with('-');
    if ok {
        Ok(handle)
    } else {
        Err(ApiError::invalid(
            "invalid_handle",
            "A handle has 3 to 32 characters: letters a-z, digits and '-', not at either end.",
        ))
    }
}

/// Characters that reorder the text around them: in a name they can make
/// "Ann <bank@example.org>" appear where something else is written.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A display name: 1–80 characters, no control or bidi-control characters.
pub fn display_name(text: &str) -> Result<String, ApiError> {
    let name = text.trim();
    let count = name.chars().count();
    if (1..=80).contains(&count) && !name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        Ok(name.to_owned())
    } else {
        Err(ApiError::invalid(
            "invalid_display_name",
            "A display name has 1 to 80 characters and no control or text-direction characters.",
        ))
    }
}

/// An e-mail address, checked for shape only (the link e-mail is the real
/// test): one `@`, a dot in the domain, no spaces, at most 254 characters.
pub fn email(text: &str) -> Result<String, ApiError> {
    let address = text.trim();
    let shaped = address.len() <= 254
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        && match address.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        }
        // And one the mail library will accept as a recipient later.
        && address.parse::<lettre::Address>().is_ok();
    if shaped {
        Ok(address.to_owned())
    } else {
        Err(ApiError::invalid(
            "invalid_email",
            "This is not an e-mail address (expected name@example.org).",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles() {
        assert_eq!(handle(" Bob-1 ").unwrap(), "bob-1");
        for bad in ["ab", "-bob", "bob-", "bo b", "bøb", &"a".repeat(33)] {
            assert!(handle(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(" ann@example.org ").unwrap(), "ann@example.org");
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
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_judged_without_panicking(text in "\\PC*") {
            if let Ok(h) = handle(&text) {
                proptest::prop_assert!(h.len() >= 3 && h.len() <= 32);
                proptest::prop_assert_eq!(handle(&h).ok(), Some(h.clone()));
            }
            if let Ok(e) = email(&text) {
                proptest::prop_assert!(e.contains('@') && !e.contains(' '));
                proptest::prop_assert_eq!(email(&e).ok(), Some(e.clone()));
            }
            if let Ok(n) = display_name(&text) {
                proptest::prop_assert!(!n.chars().any(char::is_control));
            }
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name(" Ann ").unwrap(), "Ann");
        assert!(display_name("").is_err());
        assert!(display_name("a\u{7}").is_err());
        assert!(display_name("Ann \u{202E}gro.elpmaxe@knab").is_err());
        assert!(display_name("Zoë Ångström").is_ok());
        assert!(display_name(&"é".repeat(81)).is_err());
    }
}
