//! Durations in the configuration: `30s`, `10m`, `12h`, `7d`, `500ms`,
//! `1h30m`, or a bare number in the setting's unit.

use std::time::Duration;

use serde::Deserializer;

/// What a bare number counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Secs,
    Millis,
}

/// For a `…_secs` setting: a bare number counts seconds, and the value
/// must be whole seconds.
pub fn secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(Visitor(Unit::Secs))
}

/// For a `…_ms` setting: a bare number counts milliseconds.
pub fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(Visitor(Unit::Millis))
}

struct Visitor(Unit);

impl serde::de::Visitor<'_> for Visitor {
    type Value = Duration;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a duration such as 30s, 10m, 12h or 7d, or a number")
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Duration, E> {
        Ok(match self.0 {
            Unit::Secs => Duration::from_secs(n),
            Unit::Millis => Duration::from_millis(n),
        })
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Duration, E> {
        let n = u64::try_from(n)
            .map_err(|_| E::custom(format!("{n} is negative; a duration is not")))?;
        self.visit_u64(n)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
        parse(text, self.0).map_err(E::custom)
    }
}

/// Parses a duration; a bare number counts in `unit`.
pub(super) fn parse(text: &str, unit: Unit) -> Result<Duration, String> {
    let trimmed = text.trim();
    let unit_name = match unit {
        Unit::Secs => "seconds",
        Unit::Millis => "milliseconds",
    };
    let bad = || {
        format!(
            "{text:?} is not a duration: write a number of {unit_name}, or a number with \
             a unit (ms, s, m, h, d), e.g. 30s, 10m, 12h, 7d, 1h30m"
        )
    };
    if trimmed.is_empty() {
        return Err(bad());
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = trimmed.parse().map_err(|_| bad())?;
        return Ok(match unit {
            Unit::Secs => Duration::from_secs(n),
            Unit::Millis => Duration::from_millis(n),
        });
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let letters = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (suffix, after) = after.split_at(letters);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let part = match suffix {
            "ms" => Some(Duration::from_millis(n)),
            "s" => Some(Duration::from_secs(n)),
            "m" => n.checked_mul(60).map(Duration::from_secs),
            "h" => n.checked_mul(60 * 60).map(Duration::from_secs),
            "d" => n.checked_mul(24 * 60 * 60).map(Duration::from_secs),
            _ => return Err(bad()),
        };
        total = part
            .and_then(|p| total.checked_add(p))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
        rest = after;
    }
    if unit == Unit::Secs && total.subsec_nanos() != 0 {
        return Err(format!(
            "{text:?} is not a whole number of seconds, which this setting counts"
        ));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{parse, Unit};
    use crate::config::test_support::{load_env, load_file};

    #[test]
    fn durations_take_units_in_the_file_and_the_environment() {
        let config = load_file(
            "retention_secs = \"30d\"\n[links]\nttl_secs = 604800\ngrace_secs = \"10m\"\n\
             [sessions]\nguest_idle_secs = \"1h30m\"\n[outbox]\npoll_ms = 250\nsweep_secs = \"45s\"\n",
        )
        .unwrap();
        assert_eq!(config.retention, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(config.links.ttl, Duration::from_secs(604_800));
        assert_eq!(config.links.grace, Duration::from_secs(600));
        assert_eq!(config.sessions.guest_idle, Duration::from_secs(5400));
        assert_eq!(config.outbox.poll, Duration::from_millis(250));
        assert_eq!(config.outbox.sweep, Duration::from_secs(45));
        let config = load_env(&[
            ("LATCHKEY_LINKS__TTL_SECS", "7d"),
            ("LATCHKEY_LINKS__GRACE_SECS", "600"),
            ("LATCHKEY_SESSIONS__MEMBER_IDLE_SECS", "12h"),
            ("LATCHKEY_OUTBOX__POLL_MS", "2s"),
            ("LATCHKEY_MAIL__SMTP__TIMEOUT_SECS", "30s"),
        ])
        .unwrap();
        assert_eq!(config.links.ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(config.links.grace, Duration::from_secs(600));
        assert_eq!(config.sessions.member_idle, Duration::from_secs(12 * 3600));
        assert_eq!(config.outbox.poll, Duration::from_secs(2));
        assert_eq!(config.mail.smtp.timeout, Duration::from_secs(30));
        // Zero coalescing stays possible.
        let config = load_env(&[("LATCHKEY_LINKS__COALESCE_SECS", "0")]).unwrap();
        assert!(config.links.coalesce.is_zero());
    }

    #[test]
    fn bad_durations_name_the_variable_or_key() {
        let err = load_env(&[("LATCHKEY_LINKS__TTL_SECS", "7 days")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "configuration: LATCHKEY_LINKS__TTL_SECS: \"7 days\" is not a duration"
            ),
            "{text}"
        );
        assert!(!text.contains(".rs:"), "{text}");
        let err = load_env(&[("LATCHKEY_LINKS__GRACE_SECS", "1500ms")]).unwrap_err();
        assert!(err.to_string().contains("whole number of seconds"), "{err}");
        let err = load_env(&[("LATCHKEY_LINKS__TTL_SECS", "99999999999999999999d")]).unwrap_err();
        assert!(
            err.to_string().contains("LATCHKEY_LINKS__TTL_SECS"),
            "{err}"
        );
        let err = load_file("[links]\nttl_secs = -5\n").unwrap_err();
        assert!(
            err.to_string().contains("`links.ttl_secs` in ")
                && err.to_string().contains("negative"),
            "{err}"
        );
        let err = load_file("[links]\nttl_secs = \"7x\"\n").unwrap_err();
        assert!(err.to_string().contains("`links.ttl_secs` in "), "{err}");
        for bad in ["", "d", "7", "1h30", "1.5h", "-3s"] {
            if bad == "7" {
                continue;
            }
            assert!(parse(bad, Unit::Secs).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse("1d2h3m4s", Unit::Secs),
            Ok(Duration::from_secs(93_784))
        );
        assert_eq!(parse("7", Unit::Millis), Ok(Duration::from_millis(7)));
    }
}
