//! Vectors of the identity proof (`identity-proof.json`): the proof a
//! registrant makes, the refusals of the server's check, and the challenge
//! sealed into the registration token.

use serde_json::{json, Value};

use super::{
    arr, bytes, case, eq, expect_err, file, flip, h, hex_of, str_of, with_version, FixedRng,
};
use crate::identity_proof::{proof_key_for_testkit, transcript};
use crate::server::{FieldPurpose, RootSecret};
use crate::{
    IdentityChallenge, IdentityChallengePublic, IdentityProof, IdentityPublic, IdentitySecret,
};

/// Runs one case whose op starts with `identity_proof.`.
pub(super) fn run(op: &str, c: &Value) -> Result<(), String> {
    match op {
        "identity_proof.prove" => check_prove(c),
        "identity_proof.verify_error" => {
            let challenge = challenge(c)?;
            let (handle, proof) = (str_of(c, "handle")?, hex_of(c, "proof")?);
            let r = IdentityPublic::from_slice(&hex_of(c, "identity_public")?).and_then(|public| {
                challenge.verify(&public, handle, &IdentityProof::from_slice(&proof)?)
            });
            expect_err(r.map_err(|e| e.code()), c)
        }
        "identity_proof.prove_error" => {
            let identity = IdentitySecret::derive(&hex_of(c, "identity_ikm")?);
            let handle = str_of(c, "handle")?;
            let r = IdentityChallengePublic::from_slice(&hex_of(c, "challenge_public")?)
                .and_then(|e| identity.prove(&e, handle));
            expect_err(r.map(|_| ()).map_err(|e| e.code()), c)
        }
        "identity_proof.open_challenge_error" => {
            let key = registration_key(c)?;
            let r = IdentityChallenge::open(&key, &hex_of(c, "context")?, &hex_of(c, "sealed")?);
            expect_err(r.map(|_| ()).map_err(|e| e.code()), c)
        }
        "identity_proof.seal_challenge" => check_seal(c),
        other => Err(format!("unknown op {other}")),
    }
}

/// The server's challenge, made from the case's `challenge_random`.
fn challenge(c: &Value) -> Result<IdentityChallenge, String> {
    let mut rng = FixedRng::new(hex_of(c, "challenge_random")?);
    let challenge = IdentityChallenge::generate(&mut rng);
    rng.finish()?;
    Ok(challenge)
}

fn registration_key(c: &Value) -> Result<crate::server::FieldKey, String> {
    let root = RootSecret(arr(&hex_of(c, "root")?)?);
    Ok(root.field_key(FieldPurpose::RegistrationState))
}

fn check_prove(c: &Value) -> Result<(), String> {
    let identity = IdentitySecret::derive(&hex_of(c, "identity_ikm")?);
    let public = identity.public();
    eq(
        "identity_public",
        public.as_bytes(),
        &hex_of(c, "identity_public")?,
    )?;
    let challenge = challenge(c)?;
    let e = challenge.public();
    eq(
        "challenge_public",
        e.as_bytes(),
        &hex_of(c, "challenge_public")?,
    )?;
    let (shared, key) =
        proof_key_for_testkit(&identity, &e).ok_or("low-order challenge in a positive case")?;
    eq(
        "shared_secret",
        shared.as_ref(),
        &hex_of(c, "shared_secret")?,
    )?;
    eq("proof_key", key.as_ref(), &hex_of(c, "proof_key")?)?;
    let handle = str_of(c, "handle")?;
    eq(
        "transcript",
        &transcript(&e, &public, handle),
        &hex_of(c, "transcript")?,
    )?;
    let proof = identity.prove(&e, handle).map_err(|e| e.to_string())?;
    eq("proof", proof.as_bytes(), &hex_of(c, "proof")?)?;
    challenge
        .verify(&public, handle, &proof)
        .map_err(|e| format!("the server's check refused the proof: {e}"))
}

fn check_seal(c: &Value) -> Result<(), String> {
    let key = registration_key(c)?;
    eq(
        "registration_state_key",
        key.expose_for_testkit(),
        &hex_of(c, "registration_state_key")?,
    )?;
    let challenge = challenge(c)?;
    let context = hex_of(c, "context")?;
    let mut rng = FixedRng::new(hex_of(c, "nonce")?);
    let sealed = challenge
        .seal(&mut rng, &key, &context)
        .map_err(|e| e.to_string())?;
    rng.finish()?;
    eq("sealed", &sealed, &hex_of(c, "sealed")?)?;
    let opened = IdentityChallenge::open(&key, &context, &sealed).map_err(|e| e.to_string())?;
    eq(
        "opened challenge_public",
        opened.public().as_bytes(),
        challenge.public().as_bytes(),
    )
}

/// Low-order X25519 points (RFC 7748 §7 lists why they must be refused):
/// 0, 1, a point of order 8, and p − 1.
const LOW_ORDER: [&str; 4] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

/// p = 2^255 − 19 itself: not a canonical encoding.
const NON_CANONICAL: &str = "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";

fn hex32(text: &str) -> Result<[u8; 32], String> {
    arr(&hex::decode(text).map_err(|e| e.to_string())?)
}

/// The file's description and cases.
#[allow(clippy::too_many_lines)]
pub(super) fn generate() -> Result<Value, String> {
    let mut cases = Vec::new();
    let mut proofs = Vec::new();
    for (i, handle) in ["ann", "a-very-long-handle-of-32-chars-x"]
        .into_iter()
        .enumerate()
    {
        let ikm = bytes(&format!("identity proof member {i}"), 32);
        let random = bytes(&format!("identity proof challenge {i}"), 32);
        let identity = IdentitySecret::derive(&ikm);
        let public = identity.public();
        let challenge = IdentityChallenge::generate(&mut FixedRng::new(random.clone()));
        let e = challenge.public();
        let (shared, key) = proof_key_for_testkit(&identity, &e).ok_or("low-order challenge")?;
        let proof = identity.prove(&e, handle).map_err(|e| e.to_string())?;
        cases.push(case(
            "identity_proof.prove",
            json!({
                "identity_ikm": h(&ikm), "challenge_random": h(&random), "handle": handle,
                "identity_public": h(public.as_bytes()), "challenge_public": h(e.as_bytes()),
                "shared_secret": h(shared.as_ref()), "proof_key": h(key.as_ref()),
                "transcript": h(&transcript(&e, &public, handle)), "proof": h(proof.as_bytes()),
            }),
        ));
        proofs.push((random, identity, proof));
    }

    let (random, identity, proof) = proofs.first().ok_or("no proof")?;
    let public = identity.public();
    let other_random = &proofs.get(1).ok_or("no second proof")?.0;
    let impostor = IdentitySecret::derive(&bytes("identity proof impostor", 32));
    let challenge = IdentityChallenge::generate(&mut FixedRng::new(random.clone()));
    let forged = impostor
        .prove(&challenge.public(), "ann")
        .map_err(|e| e.to_string())?;
    let failed = "identity_proof_failed";
    let mut refusals = vec![
        (
            random.clone(),
            public.as_bytes().to_vec(),
            "bob",
            proof.as_bytes().to_vec(),
            failed,
        ),
        (
            random.clone(),
            public.as_bytes().to_vec(),
            "Ann",
            proof.as_bytes().to_vec(),
            failed,
        ),
        (
            random.clone(),
            impostor.public().as_bytes().to_vec(),
            "ann",
            proof.as_bytes().to_vec(),
            failed,
        ),
        (
            random.clone(),
            public.as_bytes().to_vec(),
            "ann",
            forged.as_bytes().to_vec(),
            failed,
        ),
        (
            random.clone(),
            public.as_bytes().to_vec(),
            "ann",
            flip(proof.as_bytes().to_vec(), 31),
            failed,
        ),
        (
            other_random.clone(),
            public.as_bytes().to_vec(),
            "ann",
            proof.as_bytes().to_vec(),
            failed,
        ),
        (
            random.clone(),
            public.as_bytes().to_vec(),
            "ann",
            proof.as_bytes()[..31].to_vec(),
            "malformed",
        ),
        (
            random.clone(),
            hex::decode(NON_CANONICAL).map_err(|e| e.to_string())?,
            "ann",
            proof.as_bytes().to_vec(),
            "malformed",
        ),
    ];
    for low in LOW_ORDER {
        // What anyone can compute for a low-order key: the proof from z = 0.
        let low_public = IdentityPublic::from_bytes(hex32(low)?).map_err(|e| e.to_string())?;
        let zero = crate::identity_proof::proof_from_zero_for_testkit(
            &challenge.public(),
            &low_public,
            "ann",
        );
        refusals.push((
            random.clone(),
            low_public.as_bytes().to_vec(),
            "ann",
            zero.as_bytes().to_vec(),
            "malformed",
        ));
    }
    for (random, public, handle, proof, error) in refusals {
        cases.push(case(
            "identity_proof.verify_error",
            json!({ "challenge_random": h(&random), "identity_public": h(&public),
                    "handle": handle, "proof": h(&proof), "error": error }),
        ));
    }

    let ikm = bytes("identity proof member 0", 32);
    for e in LOW_ORDER.iter().chain([&NON_CANONICAL]) {
        cases.push(case(
            "identity_proof.prove_error",
            json!({ "identity_ikm": h(&ikm), "challenge_public": e, "handle": "ann", "error": "malformed" }),
        ));
    }

    let root = RootSecret(arr(&bytes("identity proof root", 32))?);
    let key = root.field_key(FieldPurpose::RegistrationState);
    // What the server binds: the expiry (u64, ms) and the handle.
    let mut context = 1_800_000_600_000u64.to_be_bytes().to_vec();
    context.extend_from_slice(b"ann");
    let nonce = bytes("identity proof seal nonce", 24);
    let sealed = challenge
        .seal(&mut FixedRng::new(nonce.clone()), &key, &context)
        .map_err(|e| e.to_string())?;
    cases.push(case(
        "identity_proof.seal_challenge",
        json!({ "root": h(&root.0), "registration_state_key": h(key.expose_for_testkit()),
                "challenge_random": h(random), "context": h(&context), "nonce": h(&nonce),
                "sealed": h(&sealed) }),
    ));
    let mut other_context = context.clone();
    other_context.truncate(8);
    other_context.extend_from_slice(b"bob");
    let mut later = 1_800_000_600_001u64.to_be_bytes().to_vec();
    later.extend_from_slice(b"ann");
    for (context, sealed, error) in [
        (other_context, sealed.clone(), "decryption_failed"),
        (later, sealed.clone(), "decryption_failed"),
        (
            context.clone(),
            flip(sealed.clone(), 72),
            "decryption_failed",
        ),
        (context.clone(), sealed[..72].to_vec(), "malformed"),
        (
            context.clone(),
            [sealed.clone(), vec![0]].concat(),
            "malformed",
        ),
        (
            context.clone(),
            with_version(sealed.clone(), 2),
            "unsupported_version",
        ),
    ] {
        cases.push(case(
            "identity_proof.open_challenge_error",
            json!({ "root": h(&root.0), "context": h(&context), "sealed": h(&sealed), "error": error }),
        ));
    }

    Ok(file(
        "Proof of possession of a member's identity key at registration: HMAC-SHA256(HKDF(X25519(sk, E), \"latchkey/v1/identity-proof\"), AD(\"latchkey/v1/identity-proof\", E || pk || handle)); the server's challenge e sealed under the registration-state field key.",
        cases,
    ))
}
