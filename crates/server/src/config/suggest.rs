//! "Did you mean …?" for a variable or key that is no setting: the closest
//! name by edit distance, or one the given name cuts short or shares its
//! last part with.

/// `"; did you mean X?"` for the candidate closest to `given`, if one is
/// close enough: a few edits away, or `given` cut short.
pub(super) fn suggestion(
    given: &str,
    candidates: impl Iterator<Item = String>,
    quote: &str,
) -> String {
    let given_upper = given.to_uppercase();
    candidates
        .filter_map(|candidate| {
            let upper = candidate.to_uppercase();
            let distance = edit_distance(&given_upper, &upper);
            let extends = upper.starts_with(&given_upper) || given_upper.starts_with(&upper);
            let same_name = leaf(&upper) == leaf(&given_upper);
            (distance <= 3 || (extends && distance <= 8) || same_name)
                .then_some((distance, candidate))
        })
        .min()
        .map(|(_, candidate)| format!("; did you mean {quote}{candidate}{quote}?"))
        .unwrap_or_default()
}

/// The last part of a key or variable: `HOST` of `LATCHKEY_MAIL__SMTP__HOST`.
fn leaf(name: &str) -> &str {
    let name = name.strip_prefix("LATCHKEY_").unwrap_or(name);
    let after_section = name.rsplit("__").next().unwrap_or(name);
    after_section.rsplit('.').next().unwrap_or(after_section)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).copied().unwrap_or(usize::MAX);
            let delete = previous.get(j + 1).copied().unwrap_or(usize::MAX);
            let insert = current.get(j).copied().unwrap_or(usize::MAX);
            let cost = usize::from(ca != *cb);
            current.push(
                substitute
                    .saturating_add(cost)
                    .min(delete.saturating_add(1))
                    .min(insert.saturating_add(1)),
            );
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{load_env, load_file};
    use crate::config::ConfigError;

    #[test]
    fn unknown_variables_are_named_with_a_suggestion() {
        let err = load_env(&[("LATCHKEY_LINKS__GRACE", "1")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: LATCHKEY_LINKS__GRACE is not a setting; did you mean \
             LATCHKEY_LINKS__GRACE_SECS?"
        );
        let err = load_env(&[("LATCHKEY_MAIL__SMTP__HOTS", "x")]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("did you mean LATCHKEY_MAIL__SMTP__HOST?"),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_SEVRER", "x")]).unwrap_err();
        assert!(err.to_string().ends_with("LATCHKEY_SERVER?"), "{err}");
        let err = load_env(&[("LATCHKEY_WHATEVER_ELSE", "x")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: LATCHKEY_WHATEVER_ELSE is not a setting"
        );
        // A section is not a setting; `_FILE` of a non-setting neither.
        let err = load_env(&[("LATCHKEY_MAIL__SMTP", "x")]).unwrap_err();
        assert!(
            err.to_string().contains("LATCHKEY_MAIL__SMTP is not"),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_PASSWORD_FILE", "/x")]).unwrap_err();
        assert!(
            err.to_string().contains("LATCHKEY_PASSWORD_FILE is not"),
            "{err}"
        );
        assert!(matches!(err, ConfigError::Unknown(_)));
        // Never a source location.
        assert!(!err.to_string().contains(".rs:"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_named_with_the_file() {
        let err = load_file("[links]\ngrace = 60\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("configuration: `links.grace` in ")
                && text.contains("latchkey.toml is not a setting")
                && text.ends_with("did you mean `links.grace_secs`?"),
            "{text}"
        );
        let err = load_file("[mail.smpt]\nhost = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("`mail.smpt`"), "{err}");
        let err = load_file("server = \"http://x\"\n").unwrap_err();
        assert!(err.to_string().contains("`server` in "), "{err}");
        let err = load_file("links = 5\n").unwrap_err();
        assert!(err.to_string().contains("`links` in "), "{err}");
        let err = load_file("[links\n").unwrap_err();
        assert!(err.to_string().contains("latchkey.toml"), "{err}");
        assert!(!err.to_string().contains(".rs:"), "{err}");
    }
}
