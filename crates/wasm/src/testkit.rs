//! The shared vector runner, exported for the browser test page only (never
//! in a production bundle: feature `testkit`).

use wasm_bindgen::prelude::*;

/// The vector file names, in order.
#[wasm_bindgen(js_name = vectorFiles)]
pub fn vector_files() -> Vec<String> {
    latchkey_core::testkit::FILES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Checks every case of one vector file; returns how many passed, or throws
/// with the first failure.
#[wasm_bindgen(js_name = runVectors)]
pub fn run_vectors(name: &str, json: &str) -> Result<usize, JsError> {
    latchkey_core::testkit::run_file(name, json).map_err(|e| JsError::new(&e))
}
