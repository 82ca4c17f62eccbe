//! Embeds the built web pages (web/dist/, made by scripts/build-web) into the
//! binary. Without them the list is empty and the pages answer 503 with
//! what to run.

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
    let mut out = String::from("pub(crate) static WEB_ASSETS: &[(&str, &[u8])] = &[\n");
    for (name, path) in files {
        out.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    out.push_str("];\n");
    fs::write(
        PathBuf::from(std::env::var("OUT_DIR")?).join("web_assets.rs"),
        out,
    )?;
    Ok(())
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
