//! The OpenAPI document served at `/api/v1/openapi.json` (generated from the
//! contract crate) must describe the routes the server really has, and hold
//! together as a document.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use serde_json::{Map, Value};

const DOCUMENT: &str = latchkey_api::OPENAPI_JSON;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

const ERROR_REF: &str = "#/components/schemas/ErrorBody";

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is not valid JSON")
}

/// Every operation as (METHOD, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Map<String, Value>)> {
    let paths = doc["paths"].as_object().expect("`paths` is not an object");
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = item
            .as_object()
            .unwrap_or_else(|| panic!("path item {path} is not an object"));
        for (key, operation) in item {
            if METHODS.contains(&key.as_str()) {
                let operation = operation
                    .as_object()
                    .unwrap_or_else(|| panic!("{key} {path} is not an object"));
                out.push((key.to_ascii_uppercase(), path.clone(), operation));
            }
        }
    }
    out
}

fn describe(pairs: &BTreeSet<(String, String)>) -> String {
    if pairs.is_empty() {
        return "  (none)".to_owned();
    }
    pairs
        .iter()
        .map(|(method, path)| format!("  {method} {path}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn document_is_openapi_3_1_under_api_v1() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("no `openapi` version");
    assert!(version.starts_with("3.1"), "openapi version is {version}");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    for scheme in [
        "memberCookie",
        "memberCookieDev",
        "guestCookie",
        "guestCookieDev",
    ] {
        let scheme = &doc["components"]["securitySchemes"][scheme];
        assert_eq!(scheme["type"], "apiKey", "{scheme}");
        assert_eq!(scheme["in"], "cookie", "{scheme}");
    }
}

#[test]
fn paths_match_the_router_exactly() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let routed: BTreeSet<(String, String)> = latchkey_server::http::api_routes()
        .into_iter()
        .map(|(method, path)| (method.to_ascii_uppercase(), path.to_owned()))
        .collect();
    let undocumented: BTreeSet<_> = routed.difference(&documented).cloned().collect();
    let unrouted: BTreeSet<_> = documented.difference(&routed).cloned().collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "the contract's operations and api_routes() disagree.\n\
         Routes missing from the contract:\n{}\n\
         Operations in the contract that the router does not have:\n{}",
        describe(&undocumented),
        describe(&unrouted),
    );
}

#[test]
fn operations_are_complete() {
    let doc = document();
    let mut ids = BTreeSet::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(!id.is_empty(), "{method} {path} has an empty operationId");
        assert!(
            ids.insert(id.to_owned()),
            "operationId {id} is used twice (again at {method} {path})"
        );
        for field in ["summary", "description"] {
            assert!(
                operation
                    .get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty()),
                "{method} {path} has no {field}"
            );
        }
        assert!(
            operation.get("security").is_some_and(Value::is_array),
            "{method} {path} does not say what security it needs"
        );
        let responses = operation
            .get("responses")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        // A browser navigation (the OpenID Connect redirects) succeeds
        // with a 303.
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status == "303"),
            "{method} {path} has no 2xx (or 303) response"
        );
        for (status, response) in responses {
            assert!(
                status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()),
                "{method} {path}: response key {status} is not a status code"
            );
            assert!(
                response.get("description").is_some_and(Value::is_string),
                "{method} {path} {status} has no description"
            );
            if !status.starts_with('2') && status != "303" {
                let schema = &response["content"]["application/json"]["schema"];
                assert!(
                    mentions_ref(schema, ERROR_REF),
                    "{method} {path} {status} does not use the Error schema"
                );
            }
        }
        for parameter in path_parameters(&path) {
            assert!(
                declares_path_parameter(&doc, operation, &parameter),
                "{method} {path} does not declare path parameter {parameter}"
            );
        }
    }
}

fn mentions_ref(value: &Value, target: &str) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, v)| {
            (key == "$ref" && v.as_str() == Some(target)) || mentions_ref(v, target)
        }),
        Value::Array(items) => items.iter().any(|v| mentions_ref(v, target)),
        _ => false,
    }
}

fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

fn declares_path_parameter(doc: &Value, operation: &Map<String, Value>, name: &str) -> bool {
    operation
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(
            |parameter| match parameter.get("$ref").and_then(Value::as_str) {
                Some(reference) => resolve(doc, reference).expect("unresolved parameter $ref"),
                None => parameter,
            },
        )
        .any(|parameter| parameter["in"] == "path" && parameter["name"] == name)
}

/// Follows a local JSON pointer (`#/a/b`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

fn collect_refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    if let Some(reference) = v.as_str() {
                        out.push((at.to_owned(), reference.to_owned()));
                    }
                }
                let token = key.replace('~', "~0").replace('/', "~1");
                collect_refs(v, &format!("{at}/{token}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_ref_resolves_to_a_component() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, "", &mut refs);
    assert!(!refs.is_empty(), "the document has no $ref at all");
    let broken: Vec<String> = refs
        .iter()
        .filter(|(_, reference)| {
            !reference.starts_with("#/components/") || resolve(&doc, reference).is_none()
        })
        .map(|(at, reference)| format!("  {reference} (at {at})"))
        .collect();
    assert!(
        broken.is_empty(),
        "these $refs do not name an existing component:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_error_schema_is_the_wire_format() {
    let doc = document();
    let error = &doc["components"]["schemas"]["ErrorBody"];
    let mut required: Vec<&str> = error["required"]
        .as_array()
        .expect("Error has no `required`")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["error", "message"]);
    assert_eq!(error["additionalProperties"], false);
}
