//! Member passwords with OPAQUE (RFC 9807): ristretto255, 3DH with SHA-512,
//! and Argon2id (m = 19 MiB, t = 2, p = 1) as the key-stretching function.
//!
//! The server never sees the password, and a stolen database (password files)
//! does not even allow an offline guess without the server's [`ServerSetup`],
//! which lives in the secrets file. Login also yields an [`ExportKey`] known
//! only to the client: it becomes the member's
//! [`KeyEncryptionKey`](crate::KeyEncryptionKey).
//!
//! Every message on the wire is `version (1) || opaque-ke serialization`.
//! The `credential_id` the server passes must be stable for the account
//! (its id, not its changeable handle): it selects the per-account OPRF key.

use core::fmt;

use opaque_ke::ciphersuite::CipherSuite;
use opaque_ke::{
    ClientLoginFinishParameters, ClientRegistrationFinishParameters, CredentialFinalization,
    CredentialRequest, CredentialResponse, Identifiers, RegistrationRequest, RegistrationResponse,
    RegistrationUpload, Ristretto255, ServerLoginParameters, ServerRegistration, TripleDh,
};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::encoding::Reader;
use crate::secret::secret_bytes;
use crate::{Error, PROTOCOL_VERSION};

/// The OPAQUE cipher suite of protocol version 1.
#[derive(Debug)]
pub struct Suite;

impl CipherSuite for Suite {
    type OprfCs = Ristretto255;
    type KeyExchange = TripleDh<Ristretto255, sha2::Sha512>;
    /// `Argon2::default()`: Argon2id, version 0x13, m = 19456 KiB, t = 2, p = 1
    /// (RFC 9106's second recommendation). Pinned by the test vectors.
    type Ksf = argon2::Argon2<'static>;
}

/// Bound into the key exchange transcript by both sides.
const CONTEXT: &[u8] = b"latchkey/v1/opaque";

secret_bytes! {
    /// A secret only the client learns at registration and at every login; the
    /// same for the same password. Turned into a key-encryption key.
    pub struct ExportKey([u8; 64]);
}

/// The server's long-term OPAQUE secrets (OPRF seed and key pair). Kept in the
/// secrets file, never in the database.
pub struct ServerSetup(opaque_ke::ServerSetup<Suite>);

/// What the server stores per member: the OPAQUE registration record,
/// `version || record`. Without the [`ServerSetup`] it allows no password guess.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PasswordFile(Vec<u8>);

/// Client state between the two registration messages.
pub struct ClientRegistration(opaque_ke::ClientRegistration<Suite>);

/// Client state between sending the login request and receiving the answer.
pub struct ClientLogin(opaque_ke::ClientLogin<Suite>);

/// Server state between the login answer and the client's finalization.
pub struct ServerLogin(opaque_ke::ServerLogin<Suite>);

/// What the client has after a successful login.
#[derive(Debug)]
pub struct ClientLoginFinish {
    /// The last message, to send to the server.
    pub finalization: Vec<u8>,
    /// Turns into the member's key-encryption key.
    pub export_key: ExportKey,
}

fn tagged(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.push(PROTOCOL_VERSION);
    out.extend_from_slice(bytes);
    out
}

/// Strips and checks the version byte, then parses with `parse`, which must
/// consume exactly the rest (checked by re-serializing to the same length).
fn untag<'a, T>(
    bytes: &'a [u8],
    what: &'static str,
    parse: impl FnOnce(&'a [u8]) -> Option<(T, usize)>,
) -> Result<T, Error> {
    let mut reader = Reader::new(bytes, what);
    reader.version()?;
    let body = reader.rest();
    match parse(body) {
        Some((value, len)) if len == body.len() => Ok(value),
        _ => Err(Error::Malformed {
            what,
            reason: "not a valid OPAQUE message",
        }),
    }
}

fn export_key(bytes: &[u8]) -> Result<ExportKey, Error> {
    // This suite's export key is SHA-512-sized; anything else is a bug upstream.
    <[u8; 64]>::try_from(bytes)
        .map(ExportKey)
        .map_err(|_| Error::LoginFailed)
}

impl ServerSetup {
    /// Fresh server secrets, made once by `latchkey init`.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        ServerSetup(opaque_ke::ServerSetup::new(rng))
    }

    /// `version || serialization`, for the secrets file only.
    pub fn expose_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(tagged(&self.0.serialize()))
    }

    /// Reads what [`ServerSetup::expose_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        untag(bytes, "OPAQUE server setup", |body| {
            opaque_ke::ServerSetup::<Suite>::deserialize(body)
                .ok()
                .map(|s| {
                    let len = s.serialize().len();
                    (ServerSetup(s), len)
                })
        })
    }
}

impl PasswordFile {
    /// Checks stored bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, Error> {
        untag(&bytes, "password file", |body| {
            ServerRegistration::<Suite>::deserialize(body)
                .ok()
                .map(|r| ((), r.serialize().len()))
        })?;
        Ok(PasswordFile(bytes))
    }

    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn record(&self) -> Result<ServerRegistration<Suite>, Error> {
        self.0
            .get(1..)
            .and_then(|body| ServerRegistration::<Suite>::deserialize(body).ok())
            .ok_or(Error::Malformed {
                what: "password file",
                reason: "not a valid OPAQUE record",
            })
    }
}

impl ClientRegistration {
    /// Step 1 (client): blind the password. Returns the state to keep and the
    /// request to send.
    pub fn start(
        rng: &mut (impl CryptoRng + RngCore),
        password: &[u8],
    ) -> Result<(ClientRegistration, Vec<u8>), Error> {
        let started = opaque_ke::ClientRegistration::<Suite>::start(rng, password)
            .map_err(|_| Error::LoginFailed)?;
        Ok((
            ClientRegistration(started.state),
            tagged(&started.message.serialize()),
        ))
    }

    /// Step 3 (client): finish with the server's response. Returns the upload
    /// to send and the export key.
    pub fn finish(
        self,
        rng: &mut (impl CryptoRng + RngCore),
        password: &[u8],
        response: &[u8],
    ) -> Result<(Vec<u8>, ExportKey), Error> {
        let response = untag(response, "registration response", |b| {
            RegistrationResponse::<Suite>::deserialize(b).ok().map(|m| {
                let len = m.serialize().len();
                (m, len)
            })
        })?;
        let finished = self
            .0
            .finish(
                rng,
                password,
                response,
                ClientRegistrationFinishParameters::new(Identifiers::default(), None),
            )
            .map_err(|_| Error::LoginFailed)?;
        Ok((
            tagged(&finished.message.serialize()),
            export_key(&finished.export_key)?,
        ))
    }
}

/// Step 2 (server): answer a registration request.
pub fn server_registration_response(
    setup: &ServerSetup,
    request: &[u8],
    credential_id: &[u8],
) -> Result<Vec<u8>, Error> {
    let request = untag(request, "registration request", |b| {
        RegistrationRequest::<Suite>::deserialize(b).ok().map(|m| {
            let len = m.serialize().len();
            (m, len)
        })
    })?;
    let started = ServerRegistration::<Suite>::start(&setup.0, request, credential_id)
        .map_err(|_| Error::LoginFailed)?;
    Ok(tagged(&started.message.serialize()))
}

/// Step 4 (server): turn the client's upload into the password file to store.
pub fn server_registration_finish(upload: &[u8]) -> Result<PasswordFile, Error> {
    let upload = untag(upload, "registration upload", |b| {
        RegistrationUpload::<Suite>::deserialize(b).ok().map(|m| {
            let len = m.serialize().len();
            (m, len)
        })
    })?;
    Ok(PasswordFile(tagged(
        &ServerRegistration::<Suite>::finish(upload).serialize(),
    )))
}

impl ClientLogin {
    /// Step 1 (client): blind the password and start the key exchange.
    pub fn start(
        rng: &mut (impl CryptoRng + RngCore),
        password: &[u8],
    ) -> Result<(ClientLogin, Vec<u8>), Error> {
        let started = opaque_ke::ClientLogin::<Suite>::start(rng, password)
            .map_err(|_| Error::LoginFailed)?;
        Ok((
            ClientLogin(started.state),
            tagged(&started.message.serialize()),
        ))
    }

    /// Step 3 (client): open the envelope with the password. A wrong password
    /// (or an unknown account, which the server disguises) gives
    /// [`Error::LoginFailed`].
    pub fn finish(
        self,
        rng: &mut (impl CryptoRng + RngCore),
        password: &[u8],
        response: &[u8],
    ) -> Result<ClientLoginFinish, Error> {
        let response = untag(response, "login response", |b| {
            CredentialResponse::<Suite>::deserialize(b).ok().map(|m| {
                let len = m.serialize().len();
                (m, len)
            })
        })?;
        let finished = self
            .0
            .finish(
                rng,
                password,
                response,
                ClientLoginFinishParameters::new(Some(CONTEXT), Identifiers::default(), None),
            )
            .map_err(|_| Error::LoginFailed)?;
        Ok(ClientLoginFinish {
            finalization: tagged(&finished.message.serialize()),
            export_key: export_key(&finished.export_key)?,
        })
    }
}

impl ServerLogin {
    /// Step 2 (server): answer a login request. With `password_file: None`
    /// (no such member) the answer is indistinguishable from a real one, and
    /// the client's step 3 fails as for a wrong password.
    pub fn start(
        rng: &mut (impl CryptoRng + RngCore),
        setup: &ServerSetup,
        password_file: Option<&PasswordFile>,
        request: &[u8],
        credential_id: &[u8],
    ) -> Result<(ServerLogin, Vec<u8>), Error> {
        let request = untag(request, "login request", |b| {
            CredentialRequest::<Suite>::deserialize(b).ok().map(|m| {
                let len = m.serialize().len();
                (m, len)
            })
        })?;
        let record = password_file.map(PasswordFile::record).transpose()?;
        let started = opaque_ke::ServerLogin::start(
            rng,
            &setup.0,
            record,
            request,
            credential_id,
            ServerLoginParameters {
                context: Some(CONTEXT),
                identifiers: Identifiers::default(),
            },
        )
        .map_err(|_| Error::LoginFailed)?;
        Ok((
            ServerLogin(started.state),
            tagged(&started.message.serialize()),
        ))
    }

    /// Step 4 (server): check the client's finalization. `Ok` means the client
    /// knew the password.
    pub fn finish(self, finalization: &[u8]) -> Result<(), Error> {
        let finalization = untag(finalization, "login finalization", |b| {
            CredentialFinalization::<Suite>::deserialize(b)
                .ok()
                .map(|m| {
                    let len = m.serialize().len();
                    (m, len)
                })
        })?;
        self.0
            .finish(
                finalization,
                ServerLoginParameters {
                    context: Some(CONTEXT),
                    identifiers: Identifiers::default(),
                },
            )
            .map(|_| ())
            .map_err(|_| Error::LoginFailed)
    }

    /// The state, for a server that keeps it outside its memory between the
    /// two requests (sealed, e.g. with [`crate::server::FieldKey`]). Secret.
    pub fn expose_state(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(tagged(&self.0.serialize()))
    }

    /// Restores what [`ServerLogin::expose_state`] gave.
    pub fn from_state(bytes: &[u8]) -> Result<Self, Error> {
        untag(bytes, "server login state", |b| {
            opaque_ke::ServerLogin::<Suite>::deserialize(b)
                .ok()
                .map(|s| {
                    let len = s.serialize().len();
                    (ServerLogin(s), len)
                })
        })
    }
}

macro_rules! redacted_debug {
    ($($name:ident),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    )*};
}
redacted_debug!(ServerSetup, ClientRegistration, ClientLogin, ServerLogin);
