//! The contract check: every answer the integration tests receive is held
//! against the committed OpenAPI document (`latchkey_api::OPENAPI_JSON`),
//! so the document cannot drift from what the server sends. A success body
//! must match the operation's schema for that exact status; an error body
//! must be an `ErrorBody` whose code the document lists for that operation
//! and status. An undocumented status is a failure too.

#![allow(dead_code, clippy::panic, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use latchkey_api::endpoints::{self, Endpoint};
use serde_json::{json, Value};

/// The document, and a validator per (operation, status) made when first
/// needed.
pub struct Contract {
    document: Value,
    validators: Mutex<HashMap<(&'static str, u16), Arc<jsonschema::Validator>>>,
}

/// The committed document, parsed once per test binary.
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| Contract::new(latchkey_api::OPENAPI_JSON))
}

/// For `ServerUrl::with_observer`: panics on an answer the document does
/// not describe.
pub fn observer() -> latchkey_client::Observer {
    Arc::new(|exchange: &latchkey_client::Exchange<'_>| {
        if let Err(problem) = contract().check(exchange.endpoint, exchange.status, exchange.body) {
            panic!(
                "contract: {} {} ({}) answered {}: {problem}\nbody: {}",
                exchange.endpoint.method.as_str(),
                exchange.path,
                exchange.endpoint.operation_id,
                exchange.status,
                String::from_utf8_lossy(exchange.body)
            );
        }
    })
}

/// For raw requests: `path` as sent under `/api/v1`, query and all. An
/// operation of the table is checked as above; a path no operation has is
/// the document's global 404 `no_route`, another method on a known path
/// its 405 `method_not_allowed`.
#[track_caller]
pub fn check_raw(method: &str, path: &str, status: u16, body: &[u8]) {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let routes: Vec<&'static Endpoint> = endpoints::ALL
        .iter()
        .copied()
        .filter(|e| template_matches(e.path, path))
        .collect();
    let result = match routes.iter().find(|e| e.method.as_str() == method) {
        Some(endpoint) => contract().check(endpoint, status, body),
        None if routes.is_empty() => contract().check_global(404, "no_route", status, body),
        None => contract().check_global(405, "method_not_allowed", status, body),
    };
    if let Err(problem) = result {
        panic!(
            "contract: {method} {path} answered {status}: {problem}\nbody: {}",
            String::from_utf8_lossy(body)
        );
    }
}

/// `/conversations/{id}` matches `/conversations/0f…`: a `{name}` segment
/// stands for any one non-empty segment.
fn template_matches(template: &str, path: &str) -> bool {
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && !p.is_empty() => continue,
            (Some(t), Some(p)) if t == p => continue,
            _ => return false,
        }
    }
}

impl Contract {
    pub fn new(document: &str) -> Contract {
        Contract {
            document: serde_json::from_str(document).expect("the OpenAPI document is JSON"),
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// Checks one answer of `endpoint`.
    pub fn check(&self, endpoint: &Endpoint, status: u16, body: &[u8]) -> Result<(), String> {
        let operation =
            &self.document["paths"][endpoint.path][endpoint.method.as_str().to_ascii_lowercase()];
        if operation.is_null() {
            return Err(format!(
                "the document has no operation {} {}",
                endpoint.method.as_str(),
                endpoint.path
            ));
        }
        let responses = &operation["responses"];
        let response = &responses[status.to_string()];
        if response.is_null() {
            let documented: Vec<&String> = responses
                .as_object()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            return Err(format!(
                "status {status} is not documented for {} (documented: {documented:?})",
                endpoint.operation_id
            ));
        }
        let Some(schema) = response["content"]["application/json"].get("schema") else {
            return if body.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "status {status} is documented without a body, but one came"
                ))
            };
        };
        let instance: Value =
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
        let validator = self.validator(endpoint.operation_id, status, schema)?;
        let problems: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("at '{}': {e}", e.instance_path()))
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        // An error answer: say plainly when the code itself is the problem.
        if status >= 400 {
            let listed = schema["allOf"][1]["properties"]["error"]["enum"].clone();
            let code = &instance["error"];
            if listed.as_array().is_some_and(|l| !l.contains(code)) {
                return Err(format!(
                    "error code {code} is not documented for {} with status {status} (documented: {listed})",
                    endpoint.operation_id
                ));
            }
        }
        Err(format!(
            "the body does not match the documented schema: {}",
            problems.join("; ")
        ))
    }

    /// The answers the document promises for every path under `/api/v1`:
    /// an `ErrorBody` with this status and code.
    pub fn check_global(
        &self,
        expected_status: u16,
        code: &'static str,
        status: u16,
        body: &[u8],
    ) -> Result<(), String> {
        if status != expected_status {
            return Err(format!(
                "no operation has this method and path; expected {expected_status} `{code}`"
            ));
        }
        let schema = json!({"allOf": [
            {"$ref": "#/components/schemas/ErrorBody"},
            {"properties": {"error": {"const": code}}}
        ]});
        let validator = self.validator(code, status, &schema)?;
        let instance: Value =
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
        let problems: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "not a `{code}` error body: {}",
                problems.join("; ")
            ))
        }
    }

    /// A draft 2020-12 validator for `schema`, whose `#/components/schemas/…`
    /// references resolve inside the document.
    fn validator(
        &self,
        name: &'static str,
        status: u16,
        schema: &Value,
    ) -> Result<Arc<jsonschema::Validator>, String> {
        let mut validators = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(validator) = validators.get(&(name, status)) {
            return Ok(validator.clone());
        }
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": {"schemas": self.document["components"]["schemas"]},
            "allOf": [schema],
        });
        let validator = jsonschema::draft202012::new(&root)
            .map(Arc::new)
            .map_err(|e| {
                format!("the document's schema for {name} {status} does not compile: {e}")
            })?;
        validators.insert((name, status), validator.clone());
        Ok(validator)
    }
}
