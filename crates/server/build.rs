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
    let mut json = Json { text, at: 0 };
    let Value::Object(top) = json.value()? else {
        return Err("web/routes.json: expected an object".into());
    };
    json.end()?;
    let Some((_, Value::Object(member))) = top.into_iter().find(|(k, _)| k == "member") else {
        return Err("web/routes.json: no \"member\" object".into());
    };
    let mut paths = Vec::new();
    for (path, _) in member {
        let segments_ok = path.strip_prefix('/').is_some_and(|rest| {
            rest.is_empty()
                || rest.split('/').all(|s| {
                    let name = s.strip_prefix('{').and_then(|n| n.strip_suffix('}'));
                    match name {
                        Some(n) => {
                            !n.is_empty()
                                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        }
                        None => {
                            !s.is_empty()
                                && s.chars()
                                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                        }
                    }
                })
        });
        if !segments_ok || paths.contains(&path) {
            return Err(format!(
                "web/routes.json: {path:?} is not a page address, or is listed twice"
            )
            .into());
        }
        paths.push(path);
    }
    Ok(paths)
}

/// JSON as routes.json uses it: objects, arrays and strings. A tiny reader
/// because this crate has no build-time JSON dependency, and this file is
/// ours and small; anything else in it is an error, not a guess.
enum Value {
    Object(Vec<(String, Value)>),
    Array,
    Text,
}

struct Json<'a> {
    text: &'a str,
    at: usize,
}

impl Json<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.at..).unwrap_or_default()
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.rest().chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), Box<dyn Error>> {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            Ok(())
        } else {
            Err(format!("web/routes.json: expected {c:?} at byte {}", self.at).into())
        }
    }

    fn end(&mut self) -> Result<(), Box<dyn Error>> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(format!("web/routes.json: unexpected text at byte {}", self.at).into()),
        }
    }

    fn value(&mut self) -> Result<Value, Box<dyn Error>> {
        match self.peek() {
            Some('{') => {
                self.expect('{')?;
                let mut members = Vec::new();
                if self.peek() != Some('}') {
                    loop {
                        let key = self.string()?;
                        self.expect(':')?;
                        members.push((key, self.value()?));
                        if self.peek() != Some(',') {
                            break;
                        }
                        self.expect(',')?;
                    }
                }
                self.expect('}')?;
                Ok(Value::Object(members))
            }
            Some('[') => {
                self.expect('[')?;
                if self.peek() != Some(']') {
                    loop {
                        self.value()?;
                        if self.peek() != Some(',') {
                            break;
                        }
                        self.expect(',')?;
                    }
                }
                self.expect(']')?;
                Ok(Value::Array)
            }
            _ => self.string().map(|_| Value::Text),
        }
    }

    fn string(&mut self) -> Result<String, Box<dyn Error>> {
        self.expect('"')?;
        let mut out = String::new();
        let text = self.text;
        let mut chars = text.get(self.at..).unwrap_or_default().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\' | '/'))) => out.push(e),
                    Some((_, 'n')) => out.push('\n'),
                    _ => break,
                },
                c => out.push(c),
            }
        }
        Err(format!("web/routes.json: a string at byte {} is not closed or has an escape this reader does not know", self.at).into())
    }
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
