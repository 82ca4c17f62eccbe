//! Every OPAQUE decoder in `latchkey_core::opaque`. Each server-side one reads
//! bytes sent by an unauthenticated client (registration request and upload,
//! login request and finalization) or read back from storage (password file,
//! server setup, saved login state); each client-side one reads bytes sent by
//! the server. None may panic on any input.
//!
//! The first byte selects the decoder, the rest is its input. The fixed state
//! (server setup, password file, client and server states) replays opaque.json's
//! `opaque.flow` (same ChaCha20 seed, same order of draws), so the vector's
//! messages are valid inputs and the seeds reach the success paths. The client
//! `finish` steps run Argon2 (19 MiB) only when the response parses.
#![no_main]

use std::sync::OnceLock;

use latchkey_core::opaque::{
    server_registration_finish, server_registration_response, ClientLogin, ClientRegistration,
    PasswordFile, ServerLogin, ServerSetup,
};
use latchkey_core_fuzz::opaque_flow_inputs;
use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

struct Fixture {
    password: &'static [u8],
    credential_id: Vec<u8>,
    setup: ServerSetup,
    file: PasswordFile,
    /// The stream just before `ClientRegistration::start` of the flow.
    before_registration: ChaCha20Rng,
    /// The stream just before `ClientLogin::start` of the flow.
    before_login: ChaCha20Rng,
    /// A valid login request, to drive `ServerLogin::start` with a fuzzed file.
    login_request: Vec<u8>,
    /// `ServerLogin::expose_state` after the server answered that request.
    server_state: Vec<u8>,
    /// The client's valid finalization for that state.
    finalization: Vec<u8>,
}

/// The flow of `testkit::opaque_flow`, keeping what the targets need.
fn fixture() -> Fixture {
    let (seed, password, credential_id) = opaque_flow_inputs();
    let mut rng = ChaCha20Rng::from_seed(seed);
    let setup = ServerSetup::generate(&mut rng);
    let before_registration = rng.clone();
    let (reg, request) = ClientRegistration::start(&mut rng, password).expect("reg start");
    let response =
        server_registration_response(&setup, &request, &credential_id).expect("reg response");
    let (upload, _) = reg
        .finish(&mut rng, password, &response)
        .expect("reg finish");
    let file = server_registration_finish(&upload).expect("reg upload");
    let before_login = rng.clone();
    let (login, login_request) = ClientLogin::start(&mut rng, password).expect("login start");
    let (server, login_response) = ServerLogin::start(
        &mut rng,
        &setup,
        Some(&file),
        &login_request,
        &credential_id,
    )
    .expect("login response");
    let finished = login
        .finish(&mut rng, password, &login_response)
        .expect("login finish");
    Fixture {
        finalization: finished.finalization,
        password,
        credential_id,
        server_state: server.expose_state().to_vec(),
        setup,
        file,
        before_registration,
        before_login,
        login_request,
    }
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let f = FIXTURE.get_or_init(fixture);
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    match selector % 9 {
        // Stored record; if accepted, also used for a login (PasswordFile::record).
        0 => {
            if let Ok(file) = PasswordFile::from_bytes(input.to_vec()) {
                assert_eq!(file.as_bytes(), input);
                let _ = ServerLogin::start(
                    &mut rng,
                    &f.setup,
                    Some(&file),
                    &f.login_request,
                    &f.credential_id,
                );
            }
        }
        // The server's long-term secrets, as in the secrets file.
        1 => {
            if let Ok(setup) = ServerSetup::from_bytes(input) {
                assert_eq!(setup.expose_bytes().as_slice(), input);
            }
        }
        // Login state saved between the two login requests; if accepted,
        // finish it with the vector's finalization.
        2 => {
            if let Ok(state) = ServerLogin::from_state(input) {
                assert_eq!(state.expose_state().as_slice(), input);
                let _ = state.finish(&f.finalization);
            }
        }
        // Client → server: registration request.
        3 => {
            let _ = server_registration_response(&f.setup, input, &f.credential_id);
        }
        // Client → server: registration upload.
        4 => {
            let _ = server_registration_finish(input);
        }
        // Client → server: login request, for an unknown and a known member.
        5 => {
            let _ = ServerLogin::start(&mut rng, &f.setup, None, input, &f.credential_id);
            let _ = ServerLogin::start(&mut rng, &f.setup, Some(&f.file), input, &f.credential_id);
        }
        // Client → server: login finalization.
        6 => {
            if let Ok(state) = ServerLogin::from_state(&f.server_state) {
                let _ = state.finish(input);
            }
        }
        // Server → client: registration response.
        7 => {
            let mut rng = f.before_registration.clone();
            if let Ok((client, _)) = ClientRegistration::start(&mut rng, f.password) {
                let _ = client.finish(&mut rng, f.password, input);
            }
        }
        // Server → client: login response.
        _ => {
            let mut rng = f.before_login.clone();
            if let Ok((client, _)) = ClientLogin::start(&mut rng, f.password) {
                let _ = client.finish(&mut rng, f.password, input);
            }
        }
    }
});
