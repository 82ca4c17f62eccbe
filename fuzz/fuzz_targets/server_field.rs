//! The server's own decoders: `server::FieldKey::open` (sealed database
//! columns, which a database writer controls) for each `FieldPurpose`, and
//! `server::ServerSecrets::from_file_bytes` (the secrets file read at start-up,
//! which may be truncated or corrupt). Neither may panic. The root secret and
//! contexts are those of server.json, so its sealed fields open.
#![no_main]

use std::sync::OnceLock;

use latchkey_core::server::{FieldKey, ServerSecrets};
use latchkey_core_fuzz::server_root_and_fields;
use libfuzzer_sys::fuzz_target;

/// One key per purpose (a `FieldKey` carries its purpose), with its context.
static FIELDS: OnceLock<Vec<(FieldKey, Vec<u8>)>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let fields = FIELDS.get_or_init(|| {
        let (root, purposes) = server_root_and_fields();
        purposes
            .into_iter()
            .map(|(purpose, context)| (root.field_key(purpose), context))
            .collect()
    });
    for (key, context) in fields {
        let _ = key.open(context, data);
    }
    if let Ok(secrets) = ServerSecrets::from_file_bytes(data) {
        // What was read must write back to the same bytes.
        assert_eq!(secrets.expose_file_bytes().as_slice(), data);
    }
});
