//! Runs the shared vector files natively. The browser test runs the same files
//! through the WebAssembly build.
//!
//! To rewrite the files after a deliberate format change:
//! `LATCHKEY_WRITE_VECTORS=1 cargo test -p latchkey-core --test vectors`.

use std::path::PathBuf;

use latchkey_core::testkit::{generate, run_file, FILES};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

#[test]
fn every_vector_file_passes() {
    let mut total = 0;
    for name in FILES {
        let text = std::fs::read_to_string(dir().join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{name}.json: {e}"));
        total += run_file(name, &text).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(total >= 90, "only {total} cases");
}

#[test]
fn vector_files_are_what_the_generator_makes() {
    let generated = generate().expect("generate");
    assert_eq!(generated.len(), FILES.len());
    for (name, text) in generated {
        let path = dir().join(format!("{name}.json"));
        if std::env::var_os("LATCHKEY_WRITE_VECTORS").is_some() {
            std::fs::write(&path, &text).expect("write vector file");
        }
        let on_disk = std::fs::read_to_string(&path).expect("read vector file");
        assert!(
            on_disk == text,
            "{name}.json differs from the generator's output"
        );
    }
}

#[test]
fn a_wrong_value_in_a_vector_is_caught() {
    let text = std::fs::read_to_string(dir().join("message.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ct = v["cases"][0]["ciphertext"].as_str().unwrap().to_owned();
    let flipped = if ct.ends_with('0') { "1" } else { "0" };
    v["cases"][0]["ciphertext"] = format!("{}{flipped}", &ct[..ct.len() - 1]).into();
    assert!(run_file("message", &v.to_string()).is_err());
}
