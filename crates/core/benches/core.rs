//! Timings of the protocol core through its public API, with `OsRng`.
//!
//! Run with `cargo bench -p latchkey-core --bench core`; the figures are
//! recorded in `docs/benchmarks.md`. Every OPAQUE client finish runs Argon2id
//! (m = 19 MiB, t = 2), so those benchmarks take 10 samples only.
//!
//! Each group first runs its operations once and checks the result with `?`,
//! so a broken API fails the run instead of timing an error path.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use latchkey_core::opaque::{
    self, ClientLogin, ClientRegistration, PasswordFile, ServerLogin, ServerSetup,
};
use latchkey_core::{
    ConversationId, ConversationKey, Error, IdentitySecret, LinkKey, Message, MessageContext,
    MessageId, OsRng, Role,
};

const PASSWORD: &[u8] = b"correct horse battery staple";
const CREDENTIAL_ID: &[u8] = b"member-0000-0042";

fn hpke(c: &mut Criterion) -> Result<(), Error> {
    let member = IdentitySecret::generate(&mut OsRng);
    let public = member.public();
    let conversation = ConversationId::generate(&mut OsRng);
    let key = ConversationKey::generate(&mut OsRng);
    let sealed = key.seal_to_member(&mut OsRng, &public, &conversation)?;
    ConversationKey::open_sealed(&member, &conversation, &sealed)?;

    let mut group = c.benchmark_group("hpke");
    group.bench_function("seal_to_member", |b| {
        b.iter(|| key.seal_to_member(&mut OsRng, black_box(&public), &conversation));
    });
    group.bench_function("open_sealed", |b| {
        b.iter(|| ConversationKey::open_sealed(&member, &conversation, black_box(&sealed)));
    });
    group.finish();
    Ok(())
}

fn messages(c: &mut Criterion) -> Result<(), Error> {
    let key = ConversationKey::generate(&mut OsRng);
    let context = MessageContext {
        conversation: ConversationId::generate(&mut OsRng),
        message: MessageId::generate(&mut OsRng),
        sender: Role::Guest,
    };

    let mut group = c.benchmark_group("message");
    for (label, len) in [("1KiB", 1024_usize), ("64KiB", 64 * 1024)] {
        let message = Message {
            sent_at_ms: 1_795_000_000_000,
            body: "a".repeat(len),
            introduction: None,
        };
        let ciphertext = key.encrypt_message(&mut OsRng, &context, &message)?;
        key.decrypt_message(&context, &ciphertext)?;

        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("encrypt", label), &message, |b, m| {
            b.iter(|| key.encrypt_message(&mut OsRng, &context, m));
        });
        group.bench_with_input(BenchmarkId::new("decrypt", label), &ciphertext, |b, ct| {
            b.iter(|| key.decrypt_message(&context, ct));
        });
    }
    group.finish();
    Ok(())
}

fn grants(c: &mut Criterion) -> Result<(), Error> {
    let link = LinkKey::generate(&mut OsRng);
    let fragment = link.expose_fragment();
    let conversation = ConversationId::generate(&mut OsRng);
    let key = ConversationKey::generate(&mut OsRng);
    let wrapped = link.wrap(&mut OsRng, &conversation, &key);
    link.unwrap(&conversation, &wrapped)?;
    LinkKey::parse_fragment(&fragment)?;

    let mut group = c.benchmark_group("grant");
    group.bench_function("wrap", |b| {
        b.iter(|| link.wrap(&mut OsRng, &conversation, black_box(&key)));
    });
    group.bench_function("unwrap", |b| {
        b.iter(|| link.unwrap(&conversation, black_box(&wrapped)));
    });
    // What the guest's page does on load: read the fragment, derive the grant id.
    group.bench_function("parse_fragment+grant_id", |b| {
        b.iter(|| LinkKey::parse_fragment(black_box(&fragment)).map(|link| link.grant_id()));
    });
    group.finish();
    Ok(())
}

/// Registration, all four steps.
fn register(setup: &ServerSetup) -> Result<PasswordFile, Error> {
    let (client, request) = ClientRegistration::start(&mut OsRng, PASSWORD)?;
    let response = opaque::server_registration_response(setup, &request, CREDENTIAL_ID)?;
    let (upload, _export_key) = client.finish(&mut OsRng, PASSWORD, &response)?;
    opaque::server_registration_finish(&upload)
}

/// Login, all four steps, client and server; `Ok` only if both accept.
fn login(setup: &ServerSetup, file: &PasswordFile) -> Result<(), Error> {
    let (client, request) = ClientLogin::start(&mut OsRng, PASSWORD)?;
    let (server, response) =
        ServerLogin::start(&mut OsRng, setup, Some(file), &request, CREDENTIAL_ID)?;
    let finish = client.finish(&mut OsRng, PASSWORD, &response)?;
    server.finish(&finish.finalization)
}

/// A client state and the server's answer to it: the input of client finish.
fn login_started(
    setup: &ServerSetup,
    file: &PasswordFile,
) -> Result<(ClientLogin, Vec<u8>), Error> {
    let (client, request) = ClientLogin::start(&mut OsRng, PASSWORD)?;
    let (_server, response) =
        ServerLogin::start(&mut OsRng, setup, Some(file), &request, CREDENTIAL_ID)?;
    Ok((client, response))
}

fn opaque_login(c: &mut Criterion) -> Result<(), Error> {
    let setup = ServerSetup::generate(&mut OsRng);
    let file = register(&setup)?;
    login(&setup, &file)?;
    let (_client, request) = ClientLogin::start(&mut OsRng, PASSWORD)?;

    let mut group = c.benchmark_group("opaque");
    // The cheap steps, with criterion's default settings.
    group.bench_function("client_start", |b| {
        b.iter(|| ClientLogin::start(&mut OsRng, black_box(PASSWORD)));
    });
    group.bench_function("server_start", |b| {
        b.iter(|| {
            ServerLogin::start(
                &mut OsRng,
                &setup,
                Some(&file),
                black_box(&request),
                CREDENTIAL_ID,
            )
        });
    });

    // Argon2id runs in every one of these: few samples, each of a few iterations.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("client_finish", |b| {
        b.iter_batched(
            || login_started(&setup, &file),
            |started| {
                started
                    .and_then(|(client, response)| client.finish(&mut OsRng, PASSWORD, &response))
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("login_round", |b| b.iter(|| login(&setup, &file)));
    group.bench_function("registration", |b| b.iter(|| register(&setup)));
    group.finish();
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut c = Criterion::default().configure_from_args();
    hpke(&mut c)?;
    messages(&mut c)?;
    grants(&mut c)?;
    opaque_login(&mut c)?;
    c.final_summary();
    Ok(())
}
