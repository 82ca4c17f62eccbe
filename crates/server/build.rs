//! Embeds the built web pages (web/dist/, made by scripts/build-web) into the
//! binary. Without them the list is empty and the pages answer 503 with
//! what to run.
//!
//! Also reads the addresses of the member's pages from web/routes.json, the
//! file the browser's router is built from, so that server and browser agree
//! on them by construction. It is read from the sources, not from web/dist:
//! the addresses exist (and answer 503) before the pages are built.
//!
//! And it compiles the text catalogues, i18n/<tag>.json, into static tables
//! (see src/i18n.rs): a translator adds a language with one file, and a file
//! that is not a flat JSON object of strings stops the build with its name.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    // sqlx::migrate! notices an edited migration but not a new file.
    println!("cargo:rerun-if-changed=migrations");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dist = manifest.join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files)?;
    }
    files.sort();
    // (name, bytes, entity tag): the tag lets browsers revalidate a file
    // they have instead of downloading it again (If-None-Match → 304).
    let mut out = String::from("pub(crate) static WEB_ASSETS: &[(&str, &[u8], &str)] = &[\n");
    for (name, path) in files {
        let tag = entity_tag(&fs::read(&path)?);
        out.push_str(&format!(
            "    ({name:?}, include_bytes!({path:?}), {tag:?}),\n"
        ));
    }
    out.push_str("];\n");
    let routes = manifest.join("../../web/routes.json");
    println!("cargo:rerun-if-changed={}", routes.display());
    out.push_str("pub(crate) static MEMBER_PAGE_ROUTES: &[&str] = &[\n");
    for path in member_routes(&fs::read_to_string(&routes)?)? {
        out.push_str(&format!("    {path:?},\n"));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    fs::write(out_dir.join("web_assets.rs"), out)?;
    let i18n = manifest.join("../../i18n");
    println!("cargo:rerun-if-changed={}", i18n.display());
    fs::write(out_dir.join("catalogues.rs"), catalogues(&i18n)?)?;
    Ok(())
}

/// Every i18n/<tag>.json as a `Catalogue` (English first, then by tag),
/// its texts sorted by key for binary search.
fn catalogues(dir: &Path) -> Result<String, Box<dyn Error>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry?.path();
        let Some(tag) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        if !is_language_tag(tag) {
            return Err(format!(
                "i18n/{tag}.json: the file name must be a lower-case language tag (de, pt-br)"
            )
            .into());
        }
        found.push((tag.to_owned(), catalogue(tag, &fs::read_to_string(&path)?)?));
    }
    found.sort_by(|(a, _), (b, _)| (a != "en", a).cmp(&(b != "en", b)));
    if found.first().is_none_or(|(tag, _)| tag != "en") {
        return Err("i18n/en.json is missing: English is every text's fallback".into());
    }
    // One static per language (CATALOGUE_EN, CATALOGUE_PT_BR), so that
    // English can be named in a constant; then the list.
    let ident = |tag: &str| format!("CATALOGUE_{}", tag.to_uppercase().replace('-', "_"));
    let mut out = String::new();
    for (tag, (name, texts)) in &found {
        out.push_str(&format!(
            "static {}: Catalogue = Catalogue {{\n    tag: {tag:?},\n    name: {name:?},\n    texts: &[\n",
            ident(tag)
        ));
        for (key, text) in texts {
            out.push_str(&format!("        ({key:?}, {text:?}),\n"));
        }
        out.push_str("    ],\n};\n");
    }
    out.push_str("static CATALOGUES: &[&Catalogue] = &[\n");
    for (tag, _) in &found {
        out.push_str(&format!("    &{},\n", ident(tag)));
    }
    out.push_str("];\n");
    Ok(out)
}

/// A catalogue's `_name` and its texts (keys not starting with `_`), sorted.
type Texts = (String, Vec<(String, String)>);

fn catalogue(tag: &str, json: &str) -> Result<Texts, Box<dyn Error>> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("i18n/{tag}.json: not valid JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("i18n/{tag}.json: must be one JSON object"))?;
    let mut name = None;
    let mut texts = Vec::new();
    for (key, text) in object {
        let text = text
            .as_str()
            .ok_or_else(|| format!("i18n/{tag}.json: {key:?} must be a string"))?;
        match key.strip_prefix('_') {
            Some("name") => name = Some(text.to_owned()),
            Some(_) => {}
            None => texts.push((key.clone(), text.to_owned())),
        }
    }
    texts.sort();
    let name = name.ok_or_else(|| {
        format!("i18n/{tag}.json: needs \"_name\", the language's own name (\"Deutsch\")")
    })?;
    Ok((name, texts))
}

/// `de`, `pt-br`: letters, then subtags of letters and digits, lower case.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts.all(|p| {
            (1..=8).contains(&p.len())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// The keys of the `member` object of web/routes.json, checked to be
/// patterns axum accepts: `/`, then segments that are literal or `{name}`.
fn member_routes(text: &str) -> Result<Vec<String>, Box<dyn Error>> {
    let top: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("web/routes.json: {e}"))?;
    let member = top
        .get("member")
        .and_then(serde_json::Value::as_object)
        .ok_or("web/routes.json: no \"member\" object")?;
    let mut paths = Vec::new();
    for path in member.keys() {
        if !is_page_pattern(path) {
            return Err(format!("web/routes.json: {path:?} is not a page address").into());
        }
        paths.push(path.clone());
    }
    Ok(paths)
}

/// `/`, then segments that are literal (`a-z`, digits, `-_.`) or `{name}`.
fn is_page_pattern(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| {
        rest.is_empty()
            || rest.split('/').all(|s| {
                match s.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    Some(name) => {
                        !name.is_empty()
                            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    }
                    None => {
                        !s.is_empty()
                            && s.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    }
                }
            })
    })
}

fn collect(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, String)>,
) -> Result<(), Box<dyn Error>> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if let Ok(name) = path.strip_prefix(root) {
            let name = name.to_string_lossy().replace('\\', "/");
            if name != "sizes.txt" {
                files.push((
                    name,
                    fs::canonicalize(&path)?.to_string_lossy().into_owned(),
                ));
            }
        }
    }
    Ok(())
}

/// A content tag: FNV-1a, 64 bits, as quoted hex. Not for security; it only
/// has to change when the file does. Weak (`W/`), because the same tag
/// covers the gzip and the plain form of the file.
fn entity_tag(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("W/\"{hash:016x}-{}\"", bytes.len())
}
