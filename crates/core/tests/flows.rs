//! The whole key life cycle through the public API only: a member registers
//! and logs in with OPAQUE, changes the password, recovers with the printed
//! key; a guest starts a conversation and reads the member's reply through a
//! new link. Blobs cross the "server" as bytes, as they would over the wire.
//!
//! Every OPAQUE login runs Argon2id (m = 19 MiB) once on the client, so the
//! tests here use as few as they can.

use latchkey_core::opaque::{
    self, ClientLogin, ClientRegistration, ExportKey, PasswordFile, ServerLogin, ServerSetup,
};
use latchkey_core::server::{FieldPurpose, RootSecret, ServerSecrets};
use latchkey_core::{
    ConversationId, ConversationKey, Error, GrantId, GuestIntroduction, IdentityPublic,
    IdentitySecret, KeyEncryptionKey, LinkKey, Message, MessageContext, MessageId, RecoveryKey,
    Role, SealedConversationKey, SealedIdentity, WrappedConversationKey,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const PASSWORD: &[u8] = b"correct horse battery staple";
const NEW_PASSWORD: &[u8] = b"Tr0ub4dor&3 is not better";
/// The account's stable id (not its changeable handle): selects its OPRF key.
const MEMBER_ID: &[u8] = b"member-0000-0042";

fn rng(n: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([n; 32])
}

/// Registration, all four steps; returns the file the server stores and the
/// export key only the client learns.
fn register(
    rng: &mut ChaCha20Rng,
    setup: &ServerSetup,
    credential_id: &[u8],
    password: &[u8],
) -> Result<(PasswordFile, ExportKey), Error> {
    let (client, request) = ClientRegistration::start(rng, password)?;
    let response = opaque::server_registration_response(setup, &request, credential_id)?;
    let (upload, export_key) = client.finish(rng, password, &response)?;
    let file = opaque::server_registration_finish(&upload)?;
    // The server stores the file and reads it back later.
    let stored = PasswordFile::from_bytes(file.as_bytes().to_vec())?;
    Ok((stored, export_key))
}

/// Login, all four steps; `Ok` only if both sides accept.
fn login(
    rng: &mut ChaCha20Rng,
    setup: &ServerSetup,
    file: Option<&PasswordFile>,
    credential_id: &[u8],
    password: &[u8],
) -> Result<ExportKey, Error> {
    let (client, request) = ClientLogin::start(rng, password)?;
    let (server, response) = ServerLogin::start(rng, setup, file, &request, credential_id)?;
    let finish = client.finish(rng, password, &response)?;
    server.finish(&finish.finalization)?;
    Ok(finish.export_key)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let six = (n >> (18 - 6 * i)) as usize & 63;
            out.extend(alphabet.get(six).map(|&c| char::from(c)));
        }
        if pad {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for v in text
        .bytes()
        .filter_map(|c| URL_SAFE.iter().position(|&x| x == c))
    {
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn crockford_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for v in text
        .bytes()
        .filter_map(|c| ALPHABET.iter().position(|&x| x == c))
    {
        acc = (acc << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// `debug` shows none of `secret`'s usual spellings and is marked `***`.
fn assert_redacted(debug: &str, secret: &[u8]) {
    assert!(debug.contains("***"), "{debug}");
    assert!(secret.len() >= 16, "too short to search for");
    let spellings = [
        hex(secret),
        hex(secret).to_uppercase(),
        base64(secret, STANDARD, true),
        base64(secret, STANDARD, false),
        base64(secret, URL_SAFE, false),
        format!("{secret:?}"),
        format!("{secret:x?}"),
        // any 8 bytes of it in hex would already be too many
        hex(secret.get(..8).unwrap_or_default()),
        hex(secret.get(secret.len() - 8..).unwrap_or_default()),
    ];
    for s in spellings {
        assert!(!debug.contains(&s), "{debug} contains {s}");
    }
}

fn context(conversation: ConversationId, message: MessageId, sender: Role) -> MessageContext {
    MessageContext {
        conversation,
        message,
        sender,
    }
}

// ------------------------------------------------------------- member

#[test]
fn member_registers_and_logs_in() {
    let mut rng = rng(1);
    let secrets = ServerSecrets::generate(&mut rng);
    // The server restarts between registration and login: secrets from the file.
    let file_bytes = secrets.expose_file_bytes();
    let (file, export_at_registration) =
        register(&mut rng, &secrets.opaque, MEMBER_ID, PASSWORD).unwrap();

    // The client makes an identity and seals it twice.
    let identity = IdentitySecret::generate(&mut rng);
    let public = identity.public();
    let password_kek = KeyEncryptionKey::from_export_key(&export_at_registration);
    let sealed_pw = password_kek.seal_identity(&mut rng, &identity);
    let recovery = RecoveryKey::generate(&mut rng);
    let sealed_rec =
        KeyEncryptionKey::from_recovery_key(&recovery).seal_identity(&mut rng, &identity);
    assert_eq!(sealed_pw.as_bytes().len(), 73);
    assert_ne!(sealed_pw, sealed_rec);
    // Both go to the server as bytes and come back.
    let sealed_pw = SealedIdentity::from_bytes(sealed_pw.as_bytes().to_vec()).unwrap();
    let sealed_rec = SealedIdentity::from_bytes(sealed_rec.as_bytes().to_vec()).unwrap();

    let restarted = ServerSecrets::from_file_bytes(&file_bytes).unwrap();
    assert_eq!(*restarted.expose_file_bytes(), *file_bytes);
    let export = login(
        &mut rng,
        &restarted.opaque,
        Some(&file),
        MEMBER_ID,
        PASSWORD,
    )
    .unwrap();
    assert!(
        export == export_at_registration,
        "login gives the same export key"
    );

    let opened = KeyEncryptionKey::from_export_key(&export)
        .open_identity(&sealed_pw, &public)
        .unwrap();
    assert_eq!(opened.public(), public);
    assert_eq!(opened.public().fingerprint(), public.fingerprint());
    // The recovery key opens its own copy, not the password's.
    let recovery_kek = KeyEncryptionKey::from_recovery_key(&recovery);
    assert_eq!(
        recovery_kek
            .open_identity(&sealed_rec, &public)
            .unwrap()
            .public(),
        public
    );
    assert_eq!(
        recovery_kek.open_identity(&sealed_pw, &public).err(),
        Some(Error::DecryptionFailed)
    );
    // A sealed identity is bound to the public key on record.
    let stranger = IdentitySecret::generate(&mut rng).public();
    assert_eq!(
        password_kek.open_identity(&sealed_pw, &stranger).err(),
        Some(Error::DecryptionFailed)
    );
}

#[test]
fn a_wrong_password_or_an_unknown_member_fails_on_the_client() {
    let mut rng = rng(2);
    let setup = ServerSetup::generate(&mut rng);
    let (file, _) = register(&mut rng, &setup, MEMBER_ID, PASSWORD).unwrap();

    // Wrong password: the server answers as usual; the client cannot open the envelope.
    let (client, request) = ClientLogin::start(&mut rng, b"correct horse battery stapler").unwrap();
    let (_server, response) =
        ServerLogin::start(&mut rng, &setup, Some(&file), &request, MEMBER_ID).unwrap();
    assert_eq!(
        client
            .finish(&mut rng, b"correct horse battery stapler", &response)
            .err(),
        Some(Error::LoginFailed)
    );

    // No such member: the server still answers (with a fake record).
    let (client, request) = ClientLogin::start(&mut rng, PASSWORD).unwrap();
    let (_server, response) =
        ServerLogin::start(&mut rng, &setup, None, &request, b"nobody").unwrap();
    assert_eq!(response.len(), {
        let (_, request) = ClientLogin::start(&mut rng, PASSWORD).unwrap();
        ServerLogin::start(&mut rng, &setup, Some(&file), &request, MEMBER_ID)
            .unwrap()
            .1
            .len()
    });
    assert_eq!(
        client.finish(&mut rng, PASSWORD, &response).err(),
        Some(Error::LoginFailed)
    );

    // The right password under another account's id: another OPRF key.
    assert_eq!(
        login(&mut rng, &setup, Some(&file), b"member-0000-0043", PASSWORD).err(),
        Some(Error::LoginFailed)
    );
}

#[test]
fn a_password_change_keeps_the_identity_and_every_conversation() {
    let mut rng = rng(3);
    let setup = ServerSetup::generate(&mut rng);
    let (old_file, old_export) = register(&mut rng, &setup, MEMBER_ID, PASSWORD).unwrap();
    let identity = IdentitySecret::generate(&mut rng);
    let public = identity.public();
    let old_sealed =
        KeyEncryptionKey::from_export_key(&old_export).seal_identity(&mut rng, &identity);

    // A guest seals a conversation key to the member before the change.
    let conversation = ConversationId::generate(&mut rng);
    let ck = ConversationKey::generate(&mut rng);
    let sealed_ck = ck.seal_to_member(&mut rng, &public, &conversation).unwrap();

    // Change: log in with the old password, unseal, register anew, re-seal.
    let export = login(&mut rng, &setup, Some(&old_file), MEMBER_ID, PASSWORD).unwrap();
    let identity = KeyEncryptionKey::from_export_key(&export)
        .open_identity(&old_sealed, &public)
        .unwrap();
    let (new_file, new_export) = register(&mut rng, &setup, MEMBER_ID, NEW_PASSWORD).unwrap();
    assert!(new_export != old_export);
    assert_ne!(new_file, old_file);
    let new_kek = KeyEncryptionKey::from_export_key(&new_export);
    let new_sealed = new_kek.seal_identity(&mut rng, &identity);
    assert_eq!(
        new_kek.open_identity(&old_sealed, &public).err(),
        Some(Error::DecryptionFailed)
    );

    // The server replaced the old file. The new password logs in…
    let export = login(&mut rng, &setup, Some(&new_file), MEMBER_ID, NEW_PASSWORD).unwrap();
    assert!(export == new_export);
    let identity = KeyEncryptionKey::from_export_key(&export)
        .open_identity(&new_sealed, &public)
        .unwrap();
    assert_eq!(identity.public(), public);
    // …and the conversation key sealed before the change still opens.
    assert!(ConversationKey::open_sealed(&identity, &conversation, &sealed_ck).unwrap() == ck);
    // The old password no longer does.
    assert_eq!(
        login(&mut rng, &setup, Some(&new_file), MEMBER_ID, PASSWORD).err(),
        Some(Error::LoginFailed)
    );
}

#[test]
fn the_printed_recovery_key_opens_the_identity() {
    let mut rng = rng(4);
    let identity = IdentitySecret::generate(&mut rng);
    let public = identity.public();
    let recovery = RecoveryKey::generate(&mut rng);
    let sealed = KeyEncryptionKey::from_recovery_key(&recovery).seal_identity(&mut rng, &identity);
    let printed = recovery.expose_printable().to_string();
    assert!(printed.starts_with("LKR1-"));
    assert_eq!(printed.len(), 44);
    drop((identity, recovery));

    // Typed back from paper, carelessly.
    for typed in [
        printed.clone(),
        printed.to_lowercase().replace('-', " "),
        format!(" {} \n", printed.replace('-', "")),
    ] {
        let parsed = RecoveryKey::parse(&typed).unwrap();
        let identity = KeyEncryptionKey::from_recovery_key(&parsed)
            .open_identity(&sealed, &public)
            .unwrap();
        assert_eq!(identity.public(), public);
    }
    // One character wrong: a valid-looking key that opens nothing.
    let last = printed.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &printed[..printed.len() - 1],
        if last == 'Z' { 'Y' } else { 'Z' }
    );
    let wrong = RecoveryKey::parse(&typo).unwrap();
    assert_eq!(
        KeyEncryptionKey::from_recovery_key(&wrong)
            .open_identity(&sealed, &public)
            .err(),
        Some(Error::DecryptionFailed)
    );
    assert_eq!(
        RecoveryKey::parse(&printed[..printed.len() - 1]).err(),
        Some(Error::InvalidRecoveryKey)
    );
}

// ------------------------------------------------------------- guest

#[test]
fn a_guest_and_a_member_exchange_messages() {
    let mut rng = rng(5);
    let member = IdentitySecret::generate(&mut rng);
    // Published on the contact page.
    let published = IdentityPublic::from_slice(member.public().as_bytes()).unwrap();
    let fingerprint = published.fingerprint().to_string();
    assert_eq!(fingerprint.len(), 19);
    assert_eq!(fingerprint, member.public().fingerprint().to_string());

    // The guest's browser starts conversation A.
    let conversation = ConversationId::generate(&mut rng);
    let guest_ck = ConversationKey::generate(&mut rng);
    let sealed = guest_ck
        .seal_to_member(&mut rng, &published, &conversation)
        .unwrap();
    let first_id = MessageId::generate(&mut rng);
    let first = Message {
        sent_at_ms: 1_795_000_000_000,
        body: "Is the flat still free in March?".into(),
        introduction: Some(GuestIntroduction {
            email: "ann.guest@example.org".into(),
            display_name: "Ann".into(),
        }),
    };
    let first_ct = guest_ck
        .encrypt_message(
            &mut rng,
            &context(conversation, first_id, Role::Guest),
            &first,
        )
        .unwrap();
    // The guest's own link, so that she can come back.
    let guest_link = LinkKey::generate(&mut rng);
    let guest_wrapped = guest_link.wrap(&mut rng, &conversation, &guest_ck);
    let guest_grant_hash = guest_link.grant_id().storage_hash();

    // Upload: ids in clear, blobs as bytes.
    let conversation_on_server: ConversationId = conversation.to_string().parse().unwrap();
    let first_id_on_server: MessageId = first_id.to_string().parse().unwrap();
    let sealed_on_server = SealedConversationKey::from_bytes(sealed.as_bytes().to_vec()).unwrap();

    // The member opens the conversation key and reads.
    let member_ck =
        ConversationKey::open_sealed(&member, &conversation_on_server, &sealed_on_server).unwrap();
    assert!(member_ck == guest_ck);
    let read = member_ck
        .decrypt_message(
            &context(conversation_on_server, first_id_on_server, Role::Guest),
            &first_ct,
        )
        .unwrap();
    assert_eq!(read, first);
    assert_eq!(
        read.introduction.as_ref().map(|i| i.email.as_str()),
        Some("ann.guest@example.org")
    );

    // The server flips the sender: detected.
    assert_eq!(
        member_ck
            .decrypt_message(&context(conversation, first_id, Role::Member), &first_ct)
            .err(),
        Some(Error::DecryptionFailed)
    );

    // The member replies and mails a fresh link.
    let reply_id = MessageId::generate(&mut rng);
    let reply = Message {
        sent_at_ms: 1_795_000_360_000,
        body: "Yes, from the 3rd.".into(),
        introduction: None,
    };
    let reply_ct = member_ck
        .encrypt_message(
            &mut rng,
            &context(conversation, reply_id, Role::Member),
            &reply,
        )
        .unwrap();
    let link = LinkKey::generate(&mut rng);
    let wrapped = link.wrap(&mut rng, &conversation, &member_ck);
    let stored_grant = link.grant_id().storage_hash();
    assert_ne!(stored_grant, guest_grant_hash);
    let url = format!(
        "https://example.org/open#{}",
        link.expose_fragment().as_str()
    );
    drop(link);

    // The guest's browser: parse the fragment, redeem the grant, unwrap, read.
    let fragment = url.split_once('#').unwrap().1;
    let parsed = LinkKey::parse_fragment(fragment).unwrap();
    let sent = parsed.grant_id().expose_base64url().to_string();
    let received = GrantId::parse_base64url(&sent).unwrap();
    assert_eq!(received.storage_hash(), stored_grant);
    let wrapped_on_server =
        WrappedConversationKey::from_bytes(wrapped.as_bytes().to_vec()).unwrap();
    let ck = parsed.unwrap(&conversation, &wrapped_on_server).unwrap();
    assert!(ck == guest_ck);
    let read = ck
        .decrypt_message(&context(conversation, reply_id, Role::Member), &reply_ct)
        .unwrap();
    assert_eq!(read, reply);
    assert_eq!(
        ck.decrypt_message(&context(conversation, reply_id, Role::Guest), &reply_ct)
            .err(),
        Some(Error::DecryptionFailed)
    );
    // Links are not interchangeable; the guest's own one still opens its grant.
    assert_eq!(
        guest_link.unwrap(&conversation, &wrapped).err(),
        Some(Error::DecryptionFailed)
    );
    assert!(guest_link.unwrap(&conversation, &guest_wrapped).unwrap() == guest_ck);

    // Conversation B, with its own key: nothing of A can be moved into it.
    let other = ConversationId::generate(&mut rng);
    let other_ck = ConversationKey::generate(&mut rng);
    for key in [&member_ck, &other_ck] {
        assert_eq!(
            key.decrypt_message(&context(other, first_id, Role::Guest), &first_ct)
                .err(),
            Some(Error::DecryptionFailed)
        );
        assert_eq!(
            key.decrypt_message(&context(other, reply_id, Role::Member), &reply_ct)
                .err(),
            Some(Error::DecryptionFailed)
        );
    }
    assert_eq!(
        ConversationKey::open_sealed(&member, &other, &sealed).err(),
        Some(Error::DecryptionFailed)
    );
    assert_eq!(
        parsed.unwrap(&other, &wrapped).err(),
        Some(Error::DecryptionFailed)
    );
    // And one message id cannot stand in for another.
    assert_eq!(
        member_ck
            .decrypt_message(&context(conversation, reply_id, Role::Guest), &first_ct)
            .err(),
        Some(Error::DecryptionFailed)
    );
}

#[test]
fn the_server_seals_its_fields_and_indexes_addresses() {
    let mut rng = rng(6);
    let root = RootSecret::generate(&mut rng);
    let restored = RootSecret::from_bytes(*root.expose_bytes());
    let conversation = ConversationId::generate(&mut rng);
    let key = root.field_key(FieldPurpose::GuestEmail);
    let sealed = key.seal(&mut rng, conversation.as_bytes(), b"ann.guest@example.org");
    let opened = restored
        .field_key(FieldPurpose::GuestEmail)
        .open(conversation.as_bytes(), &sealed)
        .unwrap();
    assert_eq!(&opened[..], b"ann.guest@example.org");
    assert_eq!(
        root.field_key(FieldPurpose::OutboxLinkKey)
            .open(conversation.as_bytes(), &sealed)
            .err(),
        Some(Error::DecryptionFailed)
    );
    let index = root.blind_index_key();
    assert_eq!(
        index.email("ann.guest@example.org"),
        restored
            .blind_index_key()
            .email("  Ann.Guest@Example.ORG\n")
    );
    assert_ne!(
        index.email("ann.guest@example.org"),
        index.email("ann.guest@example.com")
    );
}

// ------------------------------------------------------------- OPAQUE server state

#[test]
fn server_login_state_survives_a_round_trip_through_storage() {
    let mut rng = rng(7);
    let secrets = ServerSecrets::generate(&mut rng);
    let (file, export_at_registration) =
        register(&mut rng, &secrets.opaque, MEMBER_ID, PASSWORD).unwrap();
    let sealing = secrets.root.field_key(FieldPurpose::LoginState);

    // Request 1: the server answers and parks its state, sealed, in the database.
    let (client, request) = ClientLogin::start(&mut rng, PASSWORD).unwrap();
    let (server, response) =
        ServerLogin::start(&mut rng, &secrets.opaque, Some(&file), &request, MEMBER_ID).unwrap();
    let state = server.expose_state();
    let parked = sealing.seal(&mut rng, b"login 1", &state);
    drop(server);

    // A second login runs meanwhile; its finalization is not this one's.
    let (other_client, other_request) = ClientLogin::start(&mut rng, PASSWORD).unwrap();
    let (other_server, other_response) = ServerLogin::start(
        &mut rng,
        &secrets.opaque,
        Some(&file),
        &other_request,
        MEMBER_ID,
    )
    .unwrap();
    let other_finish = other_client
        .finish(&mut rng, PASSWORD, &other_response)
        .unwrap();

    // Request 2: restore the state and finish.
    let finish = client.finish(&mut rng, PASSWORD, &response).unwrap();
    assert!(finish.export_key == export_at_registration);
    let unparked = sealing.open(b"login 1", &parked).unwrap();
    assert_eq!(*unparked, *state);
    let restored = ServerLogin::from_state(&unparked).unwrap();
    assert_eq!(*restored.expose_state(), *state);
    assert_eq!(
        restored.finish(&other_finish.finalization).err(),
        Some(Error::LoginFailed)
    );
    let restored = ServerLogin::from_state(&unparked).unwrap();
    restored.finish(&finish.finalization).unwrap();
    other_server.finish(&other_finish.finalization).unwrap();

    // A sealed state copied to another login row does not open.
    assert_eq!(
        sealing.open(b"login 2", &parked).err(),
        Some(Error::DecryptionFailed)
    );
}

// ------------------------------------------------------------- Debug

#[test]
fn debug_output_shows_no_secret() {
    let mut rng = rng(8);

    let link = LinkKey::generate(&mut rng);
    let fragment = link.expose_fragment().to_string();
    let link_bytes = base64url_decode(&fragment[3..]);
    assert_eq!(link_bytes.len(), 32);
    let debug = format!("{link:?}");
    assert_eq!(debug, "LinkKey(***)");
    assert_redacted(&debug, &link_bytes);
    assert!(!debug.contains(&fragment[3..]));

    let grant = link.grant_id();
    let grant_bytes = base64url_decode(&grant.expose_base64url());
    assert_eq!(format!("{grant:?}"), "GrantId(***)");
    assert_redacted(&format!("{grant:?}"), &grant_bytes);
    let chosen = GrantId::from_bytes([0xa5; 32]);
    assert_redacted(&format!("{chosen:?}"), &[0xa5; 32]);

    let recovery = RecoveryKey::generate(&mut rng);
    let printed = recovery.expose_printable().to_string();
    let recovery_bytes = crockford_decode(&printed[5..]);
    assert_eq!(recovery_bytes.len(), 20);
    assert_eq!(format!("{recovery:?}"), "RecoveryKey(***)");
    assert_redacted(&format!("{recovery:?}"), &recovery_bytes);

    let root_bytes = [0x5a; 32];
    let root = RootSecret::from_bytes(root_bytes);
    assert_eq!(format!("{root:?}"), "RootSecret(***)");
    assert_redacted(&format!("{root:?}"), &root_bytes);
    let root = RootSecret::generate(&mut rng);
    assert_redacted(&format!("{root:?}"), root.expose_bytes());
    assert_eq!(
        format!("{:?}", root.field_key(FieldPurpose::GuestEmail)),
        "FieldKey { key: SubKey(***), purpose: GuestEmail }"
    );
    assert_eq!(
        format!("{:?}", root.blind_index_key()),
        "BlindIndexKey(***)"
    );

    // No way to read these out: the whole Debug output is the redaction.
    let identity = IdentitySecret::generate(&mut rng);
    assert_eq!(format!("{identity:?}"), "IdentitySecret(***)");
    let ck = ConversationKey::generate(&mut rng);
    assert_eq!(format!("{ck:?}"), "ConversationKey(***)");
    let kek = KeyEncryptionKey::from_recovery_key(&recovery);
    assert_eq!(format!("{kek:?}"), "KeyEncryptionKey(***)");

    // OPAQUE: secrets of both sides, and the client's result.
    let secrets = ServerSecrets::generate(&mut rng);
    let file_bytes = secrets.expose_file_bytes();
    let debug = format!("{secrets:?}");
    assert_redacted(&debug, &file_bytes[1..33]);
    assert_redacted(&debug, &file_bytes[33..]);
    assert_eq!(format!("{:?}", secrets.opaque), "ServerSetup(***)");
    let (registration, request) = ClientRegistration::start(&mut rng, PASSWORD).unwrap();
    assert_eq!(format!("{registration:?}"), "ClientRegistration(***)");
    let response =
        opaque::server_registration_response(&secrets.opaque, &request, MEMBER_ID).unwrap();
    let (upload, export) = registration.finish(&mut rng, PASSWORD, &response).unwrap();
    assert_eq!(format!("{export:?}"), "ExportKey(***)");
    let file = opaque::server_registration_finish(&upload).unwrap();
    let (client, request) = ClientLogin::start(&mut rng, PASSWORD).unwrap();
    assert_eq!(format!("{client:?}"), "ClientLogin(***)");
    let (server, response) =
        ServerLogin::start(&mut rng, &secrets.opaque, Some(&file), &request, MEMBER_ID).unwrap();
    assert_eq!(format!("{server:?}"), "ServerLogin(***)");
    assert_redacted(&format!("{server:?}"), &server.expose_state()[1..]);
    let finish = client.finish(&mut rng, PASSWORD, &response).unwrap();
    let debug = format!("{finish:?}");
    assert!(debug.contains("ExportKey(***)"), "{debug}");
    assert!(
        !debug.contains(&format!("{:?}", PASSWORD)) && !debug.contains("correct horse"),
        "{debug}"
    );

    // Messages: sizes, never the text or the address.
    let message = Message {
        sent_at_ms: 42,
        body: "the secret meeting is at noon".into(),
        introduction: Some(GuestIntroduction {
            email: "ann.guest@example.org".into(),
            display_name: "Ann Onymous".into(),
        }),
    };
    let debug = format!("{message:?}");
    for hidden in ["secret meeting", "ann.guest", "example.org", "Onymous"] {
        assert!(!debug.contains(hidden), "{debug}");
    }
    assert!(debug.contains("***"), "{debug}");
    assert!(debug.contains("42"), "{debug}");
    let pretty = format!("{message:#?}");
    assert!(!pretty.contains("secret meeting") && !pretty.contains("ann.guest"));
}

/// The redaction check itself finds a leak (so its passing above means something).
#[test]
fn the_redaction_check_catches_leaks() {
    assert_eq!(base64(b"foobar", STANDARD, true), "Zm9vYmFy");
    assert_eq!(base64(b"fo", STANDARD, true), "Zm8=");
    assert_eq!(base64(&[0xfb, 0xff], URL_SAFE, false), "-_8");
    assert_eq!(base64url_decode("-_8"), [0xfb, 0xff]);
    assert_eq!(crockford_decode("CSQPYRK1"), b"fooba");
    let secret: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37)).collect();
    for leak in [
        format!("Key(***) {}", hex(&secret)),
        format!("Key(***) {}", base64(&secret, STANDARD, true)),
        format!("Key(***) {}", base64(&secret, URL_SAFE, false)),
        format!("Key(***) {secret:?}"),
        format!("Key {}", "00"),
    ] {
        let caught = std::panic::catch_unwind(|| assert_redacted(&leak, &secret));
        assert!(caught.is_err(), "not caught: {leak}");
    }
}

#[test]
fn recovery_proof_is_stable_and_opens_nothing() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let recovery = RecoveryKey::generate(&mut rng);
    let again = RecoveryKey::parse(&recovery.expose_printable()).unwrap();
    assert_eq!(*recovery.proof(), *again.proof());
    let other = RecoveryKey::generate(&mut rng);
    assert_ne!(*recovery.proof(), *other.proof());
    // The proof is not the KEK: an identity sealed under the recovery KEK
    // does not open with a KEK-sized use of the proof's bytes.
    let identity = IdentitySecret::generate(&mut rng);
    let sealed = KeyEncryptionKey::from_recovery_key(&recovery).seal_identity(&mut rng, &identity);
    let kek = KeyEncryptionKey::from_recovery_key(&recovery);
    assert!(kek.open_identity(&sealed, &identity.public()).is_ok());
    let mut loot = latchkey_core::testkit::Loot::default();
    loot.sealed_identities
        .push((identity.public(), sealed.as_bytes().to_vec()));
    assert!(loot.try_key(&recovery.proof()).is_empty());
}
