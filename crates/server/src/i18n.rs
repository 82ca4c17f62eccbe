//! Languages: the text catalogues (i18n/<tag>.json, compiled in by
//! build.rs), choosing one for a request, and filling a text's
//! `{placeholders}`.
//!
//! Every catalogue has the keys of en.json (a test below checks it), and a
//! key a catalogue lacks anyway reads in English: a missing translation is
//! a wrong word on a page, never a failed request.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One language's texts, as build.rs compiles them.
#[derive(Debug)]
pub(crate) struct Catalogue {
    /// The file name: `en`, `de`.
    tag: &'static str,
    /// `_name`: the language's own name.
    name: &'static str,
    /// (key, text), sorted by key.
    texts: &'static [(&'static str, &'static str)],
}

// CATALOGUE_EN, CATALOGUE_DE, …, and CATALOGUES: all, English first.
include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));

/// A language with a catalogue. Holds a catalogue, so any `Language` can
/// answer every key.
#[derive(Clone, Copy)]
pub struct Language(&'static Catalogue);

impl PartialEq for Language {
    fn eq(&self, other: &Language) -> bool {
        self.0.tag == other.0.tag
    }
}

impl Eq for Language {}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({})", self.0.tag)
    }
}

impl Default for Language {
    fn default() -> Language {
        Language::ENGLISH
    }
}

impl Language {
    /// English: the fallback of every choice and every missing text.
    /// build.rs puts en.json first and refuses to build without it.
    pub const ENGLISH: Language = Language(&CATALOGUE_EN);

    /// Every language there is a catalogue for, English first.
    pub fn all() -> impl Iterator<Item = Language> {
        CATALOGUES.iter().copied().map(Language)
    }

    /// The language of this tag (`de`; any case), if there is a catalogue.
    pub fn from_tag(tag: &str) -> Option<Language> {
        CATALOGUES
            .iter()
            .copied()
            .find(|c| c.tag.eq_ignore_ascii_case(tag))
            .map(Language)
    }

    /// The tag: `en`, `de` (for `<html lang>`, cookies, the database).
    pub fn tag(self) -> &'static str {
        self.0.tag
    }

    /// The language's own name: `Deutsch`.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Every (key, text) of this catalogue whose key starts with `prefix`.
    pub fn texts_with_prefix(
        self,
        prefix: &'static str,
    ) -> impl Iterator<Item = (&'static str, &'static str)> {
        self.0
            .texts
            .iter()
            .filter(move |(key, _)| key.starts_with(prefix))
            .copied()
    }

    /// The raw text of `key`: this catalogue's, else English's, else the key
    /// itself (so a typo shows on the page instead of failing it).
    pub fn raw(self, key: &str) -> &str {
        lookup(self.0, key)
            .or_else(|| lookup(Language::ENGLISH.0, key))
            .unwrap_or(key)
    }

    /// The text of `key` with each `{name}` replaced by the value `params`
    /// gives for `name`. A placeholder without a value stays as it is;
    /// values are not searched for placeholders again.
    pub fn text(self, key: &str, params: &[(&str, &str)]) -> String {
        fill(self.raw(key), params)
    }

    /// The language a request asks for: the `lang` cookie if it names a
    /// catalogue (the page's switcher sets it), else the best match of
    /// `Accept-Language`, else English.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Language {
        cookie
            .and_then(Language::from_tag)
            .or_else(|| accept_language.and_then(best_accepted))
            .unwrap_or(Language::ENGLISH)
    }
}

fn lookup<'c>(catalogue: &'c Catalogue, key: &str) -> Option<&'c str> {
    catalogue
        .texts
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .and_then(|i| catalogue.texts.get(i))
        .map(|(_, text)| *text)
}

/// The value of the cookie `name` in a `Cookie` header's value.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"'))
    })
}

/// The best language of an `Accept-Language` value we have a catalogue for:
/// highest q first (ties in the order given), each tried as it is (`pt-br`)
/// and then by its primary subtag (`de-DE` → `de`). `q=0` means "not this";
/// `*` adds nothing the English fallback does not.
fn best_accepted(header: &str) -> Option<Language> {
    let mut ranges: Vec<(u16, &str)> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .map_or(Some(1000), quality)?;
            (!range.is_empty() && range != "*" && q > 0).then_some((q, range))
        })
        .collect();
    // Stable: equal weights keep the browser's order.
    ranges.sort_by_key(|&(q, _)| std::cmp::Reverse(q));
    ranges.into_iter().find_map(|(_, range)| {
        Language::from_tag(range).or_else(|| {
            let primary = range.split('-').next().unwrap_or(range);
            Language::from_tag(primary).or_else(|| {
                Language::all().find(|l| {
                    l.tag()
                        .split('-')
                        .next()
                        .is_some_and(|p| p.eq_ignore_ascii_case(primary))
                })
            })
        })
    })
}

/// A q-value (`0.8`, `1`, `0.125`) in thousandths; none when malformed
/// (the range is then ignored, as RFC 9110 lets a recipient do).
fn quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// `text` with `{name}` replaced by `params`' value for `name`.
fn fill(text: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let (before, from_brace) = rest.split_at(open);
        out.push_str(before);
        let value = from_brace.find('}').and_then(|close| {
            let name = from_brace.get(1..close)?;
            let (_, value) = params.iter().find(|(n, _)| *n == name)?;
            Some((*value, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = from_brace.get(close + 1..).unwrap_or("");
            }
            None => {
                out.push('{');
                rest = from_brace.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{placeholder}` names of a text.
fn placeholders(text: &str) -> std::collections::BTreeSet<&str> {
    text.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect()
}

/// Stored as its tag. A tag with no catalogue (a language removed since the
/// row was written) reads as English: the mail still goes out.
impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.tag())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Language, D::Error> {
        let tag = String::deserialize(deserializer)?;
        Ok(Language::from_tag(&tag).unwrap_or(Language::ENGLISH))
    }
}

/// A plural form other than `.other` (`x.one`, `x.few`): languages have
/// different sets (German one and other, Polish also few and many), so only
/// `.other` must be in every catalogue. The pages' test (web/tests/
/// i18n-catalogue.test.mjs) applies the same rule.
fn is_plural_form(key: &str) -> bool {
    [".zero", ".one", ".two", ".few", ".many"]
        .iter()
        .any(|form| key.ends_with(form))
}

/// Why a catalogue does not match en.json: a key missing or extra (plural
/// forms aside), or a text whose `{placeholders}` differ from English's.
/// For the test below, and for anyone checking a new file.
pub fn catalogue_problems() -> Vec<String> {
    Language::all()
        .skip(1)
        .flat_map(|language| problems_against(Language::ENGLISH.0, language.0))
        .collect()
}

fn problems_against(english: &Catalogue, other: &Catalogue) -> Vec<String> {
    let tag = other.tag;
    let mut problems = Vec::new();
    for (key, text) in english.texts {
        match lookup(other, key) {
            None if is_plural_form(key) => {}
            None => problems.push(format!("i18n/{tag}.json lacks {key:?}")),
            Some(translated) if placeholders(translated) != placeholders(text) => {
                problems.push(format!(
                    "i18n/{tag}.json: {key:?} has placeholders {:?}, en.json {:?}",
                    placeholders(translated),
                    placeholders(text)
                ))
            }
            Some(_) => {}
        }
    }
    for (key, _) in other.texts {
        if lookup(english, key).is_none() && !is_plural_form(key) {
            problems.push(format!("i18n/{tag}.json has {key:?}, which en.json lacks"));
        }
    }
    problems
}

/// The language of a stored tag: a removed catalogue reads as English.
pub fn stored(tag: &str) -> Language {
    Language::from_tag(tag).unwrap_or(Language::ENGLISH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Language {
        Language::from_tag("de").unwrap()
    }

    #[test]
    fn every_catalogue_has_exactly_the_keys_and_placeholders_of_english() {
        let problems = catalogue_problems();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_key_check_finds_missing_extra_and_changed_texts() {
        static EN: Catalogue = Catalogue {
            tag: "en",
            name: "English",
            texts: &[
                ("a", "A {x}"),
                ("b", "B"),
                ("n.one", "one"),
                ("n.other", "{count} things"),
            ],
        };
        static GOOD: Catalogue = Catalogue {
            tag: "pl",
            name: "Polski",
            // No `.one` but a `.few`: plural forms are the language's.
            texts: &[
                ("a", "{x} A"),
                ("b", "Be"),
                ("n.few", "{count} rzeczy"),
                ("n.other", "{count} rzeczy"),
            ],
        };
        static BAD: Catalogue = Catalogue {
            tag: "xx",
            name: "X",
            texts: &[("a", "A {y}"), ("c", "C"), ("n.one", "1")],
        };
        assert_eq!(problems_against(&EN, &GOOD), Vec::<String>::new());
        assert_eq!(
            problems_against(&EN, &BAD),
            [
                "i18n/xx.json: \"a\" has placeholders {\"y\"}, en.json {\"x\"}",
                "i18n/xx.json lacks \"b\"",
                "i18n/xx.json lacks \"n.other\"",
                "i18n/xx.json has \"c\", which en.json lacks",
            ]
        );
    }

    #[test]
    fn only_other_plural_forms_may_differ_between_catalogues() {
        assert!(is_plural_form("member.inbox.unread.few"));
        assert!(is_plural_form("member.inbox.unread.one"));
        assert!(!is_plural_form("member.inbox.unread.other"));
        assert!(!is_plural_form("mail.link.rules"));
    }

    #[test]
    fn english_comes_first_and_german_exists() {
        assert_eq!(Language::ENGLISH.tag(), "en");
        assert_eq!(Language::all().next(), Some(Language::ENGLISH));
        assert_eq!(de().name(), "Deutsch");
        assert_eq!(Language::from_tag("DE"), Some(de()));
        assert_eq!(Language::from_tag("xx"), None);
    }

    #[test]
    fn the_cookie_wins_when_it_names_a_catalogue() {
        assert_eq!(
            Language::negotiate(Some("en"), Some("de-DE,de;q=0.9")),
            Language::ENGLISH
        );
        assert_eq!(Language::negotiate(Some("de"), Some("en")), de());
        // A cookie naming no catalogue is ignored.
        assert_eq!(Language::negotiate(Some("xx"), Some("de")), de());
        assert_eq!(Language::negotiate(Some(""), None), Language::ENGLISH);
    }

    #[test]
    fn accept_language_is_read_by_quality_then_primary_subtag() {
        let pick = |header| Language::negotiate(None, Some(header));
        assert_eq!(pick("de-DE,de;q=0.9"), de());
        assert_eq!(pick("de-AT"), de());
        assert_eq!(pick("fr"), Language::ENGLISH);
        assert_eq!(pick("fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7"), de());
        assert_eq!(pick("en;q=0.5, de;q=0.9"), de());
        assert_eq!(pick("de;q=0.5, en;q=0.9"), Language::ENGLISH);
        assert_eq!(pick("de;q=0, fr"), Language::ENGLISH);
        assert_eq!(pick("*, de;q=0.1"), de());
        // Equal weights keep the browser's order.
        assert_eq!(pick("de, en"), de());
        assert_eq!(pick("en, de"), Language::ENGLISH);
        // Malformed ranges are skipped, not fatal.
        assert_eq!(pick("de;q=2, de;q=abc, ;;, en"), Language::ENGLISH);
        assert_eq!(pick("DE-de;Q=0.7"), de());
        assert_eq!(pick(""), Language::ENGLISH);
        assert_eq!(Language::negotiate(None, None), Language::ENGLISH);
    }

    #[test]
    fn q_values_parse_as_rfc_9110_writes_them() {
        assert_eq!(quality("1"), Some(1000));
        assert_eq!(quality("1.000"), Some(1000));
        assert_eq!(quality("0.9"), Some(900));
        assert_eq!(quality("0.125"), Some(125));
        assert_eq!(quality("0"), Some(0));
        assert_eq!(quality("1.5"), None);
        assert_eq!(quality("0.1234"), None);
        assert_eq!(quality("-1"), None);
    }

    #[test]
    fn the_lang_cookie_is_found_among_others() {
        assert_eq!(cookie_value("a=1; lang=de; b=2", "lang"), Some("de"));
        assert_eq!(cookie_value("session=x", "lang"), None);
        assert_eq!(cookie_value("xlang=de", "lang"), None);
    }

    #[test]
    fn placeholders_are_filled_once_and_unknown_ones_stay() {
        assert_eq!(
            fill("{name} wrote to {who}.", &[("name", "Bob"), ("who", "you")]),
            "Bob wrote to you."
        );
        // A value is not searched again: a name cannot pull in a parameter.
        assert_eq!(fill("{a}{b}", &[("a", "{b}"), ("b", "x")]), "{b}x");
        assert_eq!(fill("{missing} {", &[]), "{missing} {");
        assert_eq!(fill("{}}{x", &[("x", "y")]), "{}}{x");
        assert_eq!(fill("é {n} ü", &[("n", "ß")]), "é ß ü");
        assert_eq!(
            placeholders("{a} and {b_2} but not { c } or {}")
                .into_iter()
                .collect::<Vec<_>>(),
            ["a", "b_2"]
        );
    }

    #[test]
    fn a_missing_key_reads_in_english_or_as_the_key() {
        assert_eq!(de().raw("no.such.key"), "no.such.key");
        assert_eq!(de().text("no.such.key", &[("a", "b")]), "no.such.key");
    }

    #[test]
    fn a_stored_tag_without_catalogue_reads_as_english() {
        let language: Language = serde_json::from_str("\"xx\"").unwrap();
        assert_eq!(language, Language::ENGLISH);
        let language: Language = serde_json::from_str("\"de\"").unwrap();
        assert_eq!(language, de());
        assert_eq!(serde_json::to_string(&de()).unwrap(), "\"de\"");
        assert_eq!(stored("de"), de());
        assert_eq!(stored("zz"), Language::ENGLISH);
    }
}
