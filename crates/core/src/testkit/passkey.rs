//! Vectors of the passkey KEK (`passkey.json`): the KEK from a PRF output,
//! handle and credential id; the identity sealed under it; and the copies
//! that must not open (another credential, another handle, another PRF
//! output) or are refused before any derivation.

use serde_json::{json, Value};

use super::{arr, bytes, case, eq, expect_err, file, h, hex_of, str_of};
use crate::{
    IdentityPublic, IdentitySecret, KeyEncryptionKey, PasskeyPrfOutput, SealedIdentity,
    PASSKEY_PRF_INPUT,
};

/// Runs one case whose op starts with `passkey.`.
pub(super) fn run(op: &str, c: &Value) -> Result<(), String> {
    match op {
        "passkey.prf_input" => eq("prf_input", PASSKEY_PRF_INPUT, &hex_of(c, "prf_input")?),
        "passkey.kek" => check_kek(c),
        "passkey.open_error" => {
            let r = kek(c).map_err(|e| e.code()).and_then(|kek| {
                let public =
                    IdentityPublic::from_slice(&hex_of(c, "public_key").map_err(|_| "malformed")?)
                        .map_err(|e| e.code())?;
                let sealed =
                    SealedIdentity::from_bytes(hex_of(c, "sealed").map_err(|_| "malformed")?)
                        .map_err(|e| e.code())?;
                kek.open_identity(&sealed, &public)
                    .map(|_| ())
                    .map_err(|e| e.code())
            });
            expect_err(r, c)
        }
        "passkey.kek_error" => expect_err(kek(c).map(|_| ()).map_err(|e| e.code()), c),
        other => Err(format!("unknown op {other}")),
    }
}

fn kek(c: &Value) -> Result<KeyEncryptionKey, crate::Error> {
    let malformed = |what| crate::Error::Malformed {
        what,
        reason: "bad vector field",
    };
    let prf = hex::decode(str_of(c, "prf_output").map_err(|_| malformed("prf_output"))?)
        .map_err(|_| malformed("prf_output"))?;
    let credential =
        hex::decode(str_of(c, "credential_id").map_err(|_| malformed("credential_id"))?)
            .map_err(|_| malformed("credential_id"))?;
    let handle = str_of(c, "handle").map_err(|_| malformed("handle"))?;
    KeyEncryptionKey::from_passkey(&PasskeyPrfOutput::from_slice(&prf)?, handle, &credential)
}

fn check_kek(c: &Value) -> Result<(), String> {
    let kek = kek(c).map_err(|e| e.to_string())?;
    eq("kek", &kek.0, &hex_of(c, "kek")?)?;
    let identity = IdentitySecret::derive(&hex_of(c, "identity_ikm")?);
    eq(
        "public_key",
        identity.public().as_bytes(),
        &hex_of(c, "public_key")?,
    )?;
    let sealed = kek.seal_identity_with_nonce(&arr(&hex_of(c, "nonce")?)?, &identity);
    eq("sealed", sealed.as_bytes(), &hex_of(c, "sealed")?)?;
    let opened = kek
        .open_identity(&sealed, &identity.public())
        .map_err(|e| e.to_string())?;
    eq(
        "opened",
        opened.public().as_bytes(),
        identity.public().as_bytes(),
    )
}

/// The cases of `passkey.json`.
pub(super) fn generate() -> Result<Value, String> {
    let mut cases = vec![case(
        "passkey.prf_input",
        json!({ "prf_input": h(PASSKEY_PRF_INPUT) }),
    )];
    let prf = bytes("passkey prf output", 32);
    let credential = bytes("passkey credential id", 16);
    let handle = "ann";
    let id_ikm = bytes("passkey identity", 32);
    let identity = IdentitySecret::derive(&id_ikm);
    let derive = |prf: &[u8], handle: &str, credential: &[u8]| {
        PasskeyPrfOutput::from_slice(prf)
            .and_then(|p| KeyEncryptionKey::from_passkey(&p, handle, credential))
            .map_err(|e| e.to_string())
    };
    let main = derive(&prf, handle, &credential)?;
    let nonce: [u8; 24] = arr(&bytes("passkey identity nonce", 24))?;
    let sealed = main.seal_identity_with_nonce(&nonce, &identity);
    cases.push(case(
        "passkey.kek",
        json!({ "prf_output": h(&prf), "handle": handle, "credential_id": h(&credential),
                "kek": h(&main.0), "identity_ikm": h(&id_ikm),
                "public_key": h(identity.public().as_bytes()), "nonce": h(&nonce),
                "sealed": h(sealed.as_bytes()) }),
    ));
    // A second passkey of the same member: its own KEK, its own copy.
    let second = bytes("second passkey credential id", 64);
    let prf2 = bytes("second passkey prf output", 32);
    let kek2 = derive(&prf2, handle, &second)?;
    let nonce2: [u8; 24] = arr(&bytes("second passkey identity nonce", 24))?;
    cases.push(case(
        "passkey.kek",
        json!({ "prf_output": h(&prf2), "handle": handle, "credential_id": h(&second),
                "kek": h(&kek2.0), "identity_ikm": h(&id_ikm),
                "public_key": h(identity.public().as_bytes()), "nonce": h(&nonce2),
                "sealed": h(kek2.seal_identity_with_nonce(&nonce2, &identity).as_bytes()) }),
    ));
    let public = h(identity.public().as_bytes());
    for (prf, handle, credential) in [
        (&prf, handle, &second),
        (&prf, "bob", &credential),
        (&prf2, handle, &credential),
        // Moving a byte from the handle to the credential id changes the KEK.
        (&prf, "an", &[b"n".as_slice(), &credential].concat()),
    ] {
        cases.push(case(
            "passkey.open_error",
            json!({ "prf_output": h(prf), "handle": handle, "credential_id": h(credential),
                    "public_key": public, "sealed": h(sealed.as_bytes()), "error": "decryption_failed" }),
        ));
    }
    for (prf, handle, credential) in [
        (prf[..31].to_vec(), handle, credential.clone()),
        (prf.clone(), "", credential.clone()),
        (prf.clone(), handle, Vec::new()),
        (prf.clone(), handle, vec![7u8; 1024]),
    ] {
        cases.push(case(
            "passkey.kek_error",
            json!({ "prf_output": h(&prf), "handle": handle, "credential_id": h(&credential), "error": "malformed" }),
        ));
    }
    Ok(file(
        "Passkey key-encryption keys: HKDF-SHA256 of the WebAuthn PRF output (salt and label \"latchkey/v1/passkey-kek\", bound to the handle and the credential id), and the identity sealed under them.",
        cases,
    ))
}
