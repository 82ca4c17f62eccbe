//! Embeds the built web pages (web/dist/, made by scripts/build-web) into the
//! binary. Without them the list is empty and the pages answer 503 with
//! what to run.
//!
//! Also reads the addresses of the member's pages from web/routes.json, the
//! file the browser's router is built from, so that server and browser agree
//! on them by construction. It is read from the sources, not from web/dist:
//! the addresses exist (and answer 503) before the pages are built.

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
    fs::write(
        PathBuf::from(std::env::var("OUT_DIR")?).join("web_assets.rs"),
        out,
    )?;
    Ok(())
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
