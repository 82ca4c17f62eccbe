//! The OpenAPI document and the TypeScript types are generated from this
//! crate; what is committed must be what the generator makes, so neither
//! can drift from the types the server and the client use.
//!
//! After a deliberate change to the contract, rewrite both files:
//! `LATCHKEY_WRITE_CONTRACT=1 cargo test -p latchkey-api --test generated`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use latchkey_api::endpoints::ALL;
use latchkey_api::openapi::{document, document_text};
use latchkey_api::typescript::declarations;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check(path: PathBuf, generated: &str) {
    if std::env::var_os("LATCHKEY_WRITE_CONTRACT").is_some() {
        std::fs::write(&path, generated).expect("write generated file");
    }
    let committed =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        committed == generated,
        "{} differs from what the contract crate generates; run \
         LATCHKEY_WRITE_CONTRACT=1 cargo test -p latchkey-api --test generated",
        path.display()
    );
}

#[test]
fn openapi_document_is_what_the_contract_generates() {
    check(repo().join("crates/api/openapi.json"), &document_text());
}

#[test]
fn typescript_types_are_what_the_contract_generates() {
    check(repo().join("web/src/common/api-types.ts"), &declarations());
}

#[test]
fn every_schema_an_operation_names_is_generated() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for endpoint in ALL {
        let names = endpoint
            .request
            .iter()
            .chain(endpoint.query.iter())
            .chain(endpoint.replies.iter().filter_map(|r| r.body.as_ref()));
        for name in names {
            assert!(
                schemas.contains_key(*name),
                "{} names the schema {name}, which is not generated",
                endpoint.operation_id
            );
        }
    }
}

#[test]
fn operation_ids_are_unique_and_every_operation_is_described() {
    let mut ids = std::collections::BTreeSet::new();
    for endpoint in ALL {
        assert!(
            ids.insert(endpoint.operation_id),
            "{}",
            endpoint.operation_id
        );
        assert!(!endpoint.summary.is_empty() && !endpoint.description.is_empty());
        assert!(!endpoint.replies.is_empty(), "{}", endpoint.operation_id);
    }
}

/// `docs/api.md` carries the error-code table between two markers; it is
/// the enum's, not a copy kept by hand.
#[test]
fn the_error_table_in_the_api_guide_is_the_enums() {
    let path = repo().join("docs/api.md");
    let text = std::fs::read_to_string(&path).expect("docs/api.md");
    let start = "<!-- error-codes: generated from ErrorCode in crates/api; LATCHKEY_WRITE_CONTRACT=1 cargo test -p latchkey-api --test generated -->\n";
    let end = "<!-- /error-codes -->";
    let (before, rest) = text.split_once(start).expect("the start marker");
    let (_, after) = rest.split_once(end).expect("the end marker");
    let generated = format!(
        "{before}{start}{}{end}{after}",
        latchkey_api::ErrorCode::markdown_table()
    );
    check(path, &generated);
}
