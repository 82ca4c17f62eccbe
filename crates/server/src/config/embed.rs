//! `embed.allowed_origins`: the origins whose pages may show a member's
//! contact form (`/embed/m/HANDLE`) in a frame. They become that page's
//! `Content-Security-Policy: frame-ancestors`; every other page stays
//! unframeable.
//!
//! Each entry must be an origin and nothing more: `http` or `https`, a
//! host, an optional port. A path, query or fragment would be silently
//! ignored by browsers (so the operator would believe he had said more
//! than he had), and a wildcard would let every subdomain, including one a
//! stranger controls, frame the form; both are refused at start.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// The setting's key, for the error messages.
const KEY: &str = "embed.allowed_origins";

/// `text` as the origin browsers send (`https://www.example.org`, the
/// scheme and host in lower case, a default port left out), or why it is
/// not one.
pub(super) fn parse_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    let refuse = |why: &str| {
        Err(format!(
            "`{text}` in {KEY} is not an origin ({why}): write scheme://host or \
             scheme://host:port with http or https, e.g. https://www.example.org"
        ))
    };
    if text.contains('*') {
        return refuse("no wildcards: list each origin");
    }
    let lower = text.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return refuse("it must start with https:// or http://");
    }
    let Ok(url) = url::Url::parse(text) else {
        return refuse("it does not parse as an address");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("no user name or password");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return refuse("it has no host");
    }
    // `https://example.org/` is the origin with the slash every address
    // has; anything longer is a path.
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return refuse("no path, query or fragment");
    }
    Ok(url.origin().ascii_serialization())
}

/// A list of origins: a TOML array of strings, or one string with the
/// origins separated by commas or spaces (how an environment variable
/// carries a list). An empty string is an empty list.
pub(super) fn origins<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct Origins;

    impl<'de> Visitor<'de> for Origins {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of origins such as [\"https://www.example.org\"]")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<String>, E> {
            text.split([',', ' ', '\t', '\n'])
                .filter(|item| !item.trim().is_empty())
                .map(|item| parse_origin(item).map_err(E::custom))
                .collect()
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut origins = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                origins.push(parse_origin(&item).map_err(de::Error::custom)?);
            }
            Ok(origins)
        }
    }

    deserializer.deserialize_any(Origins)
}

#[cfg(test)]
mod tests {
    use super::parse_origin;
    use crate::config::test_support::{load_env, load_file};

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        for (text, origin) in [
            ("https://www.example.org", "https://www.example.org"),
            ("https://www.example.org/", "https://www.example.org"),
            (" HTTPS://WWW.Example.ORG ", "https://www.example.org"),
            ("https://example.org:443", "https://example.org"),
            ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
            ("http://[::1]:3000", "http://[::1]:3000"),
            ("https://bücher.example", "https://xn--bcher-kva.example"),
        ] {
            assert_eq!(parse_origin(text).as_deref(), Ok(origin), "{text}");
        }
    }

    #[test]
    fn anything_but_an_origin_is_refused_naming_the_setting() {
        for text in [
            "https://*.example.org",
            "*",
            "https://example.org/contact",
            "https://example.org/?a=1",
            "https://example.org/#x",
            "https://user:pw@example.org",
            "www.example.org",
            "ftp://example.org",
            "'self'",
            "https://",
            "javascript:alert(1)",
        ] {
            let err = parse_origin(text).unwrap_err();
            assert!(err.contains("embed.allowed_origins"), "{err}");
            assert!(err.contains("https://www.example.org"), "{err}");
        }
    }

    #[test]
    fn the_list_comes_from_the_environment_or_the_file() {
        let config = load_env(&[(
            "LATCHKEY_EMBED__ALLOWED_ORIGINS",
            "https://www.example.org, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(
            config.embed.allowed_origins,
            ["https://www.example.org", "http://localhost:3000"]
        );
        assert!(load_env(&[]).unwrap().embed.allowed_origins.is_empty());
        let config = load_file("[embed]\nallowed_origins = [\"https://a.example\"]\n").unwrap();
        assert_eq!(config.embed.allowed_origins, ["https://a.example"]);
        let err = load_env(&[(
            "LATCHKEY_EMBED__ALLOWED_ORIGINS",
            "https://example.org/page",
        )])
        .unwrap_err()
        .to_string();
        assert!(err.contains("LATCHKEY_EMBED__ALLOWED_ORIGINS"), "{err}");
        assert!(err.contains("no path"), "{err}");
        let err = load_file("[embed]\nallowed_origins = [\"https://*.example.org\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`embed.allowed_origins` in"), "{err}");
        assert!(err.contains("wildcard"), "{err}");
    }
}
