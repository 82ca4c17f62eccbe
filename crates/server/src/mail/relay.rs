//! The SMTP relay's connections: opened with `TCP_NODELAY`, kept open
//! between mails, several at once.
//!
//! Why not lettre's `AsyncSmtpTransport`: its sockets keep Nagle's
//! algorithm on, and lettre writes a mail's body and the 5-byte end of data
//! (`\r\n.\r\n`) as two writes. Nagle holds the second until the relay
//! acknowledges the first, and the relay's TCP stack delays that
//! acknowledgement (up to 40 ms, waiting for a reply to carry it, which
//! cannot come before the terminator): about 43 ms per mail, for 0.3 ms
//! of work.
//! lettre 0.11 has no setting for it and builds its sockets itself, so this
//! module opens the TCP connection (with `TCP_NODELAY`) and hands it to
//! lettre's own SMTP client (`AsyncSmtpConnection::connect_with_transport`),
//! which still does greeting, STARTTLS, TLS, AUTH and the mail itself, with
//! lettre's errors. What lettre's pool did (idle connections kept for the
//! next mail, tested with a `NOOP` before use) is the few lines below.
//! (Forking lettre for a one-line `set_nodelay` was the alternative; this
//! keeps the crate as published, at the cost of these lines.)

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
#[allow(deprecated)]
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::transport::smtp::client::Tls;
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};

use super::MailError;

/// An idle connection this long is closed rather than reused (as lettre's
/// pool did by default: relays drop quiet clients after a minute or more).
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// How the connection is secured.
#[derive(Clone)]
pub(crate) enum Security {
    /// Plain SMTP (loopback only, the configuration says).
    None,
    /// STARTTLS, required.
    Starttls(TlsParameters),
    /// TLS from the first byte.
    Tls(TlsParameters),
}

/// Where and how to reach the relay.
pub(crate) struct RelaySettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<Credentials>,
    /// Opening the TCP connection is abandoned after this long.
    pub connect_timeout: Duration,
    /// At most this many idle connections are kept.
    pub max_idle: usize,
}

/// The relay, with its idle connections. Cheap to clone (shared).
#[derive(Clone)]
pub struct Relay {
    settings: Arc<RelaySettings>,
    hello: Arc<ClientId>,
    idle: Arc<Mutex<Vec<(AsyncSmtpConnection, Instant)>>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("host", &self.settings.host)
            .field("port", &self.settings.port)
            .finish_non_exhaustive()
    }
}

impl Relay {
    pub(super) fn new(settings: RelaySettings) -> Relay {
        Relay {
            settings: Arc::new(settings),
            hello: Arc::new(ClientId::default()),
            idle: Arc::default(),
        }
    }

    /// Connects, greets, secures and logs in as a mail would, then says
    /// NOOP; for `latchkey doctor`. Through lettre's own transport, whose
    /// errors carry their causes (which relay is down, which certificate
    /// was refused), for one connection that sends no mail.
    pub async fn test_connection(&self) -> Result<bool, lettre::transport::smtp::Error> {
        let settings = &*self.settings;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .timeout(Some(settings.connect_timeout));
        let builder = match &settings.security {
            Security::None => builder,
            Security::Starttls(tls) => builder.tls(Tls::Required(tls.clone())),
            Security::Tls(tls) => builder.tls(Tls::Wrapper(tls.clone())),
        };
        let builder = match &settings.credentials {
            Some(credentials) => builder.credentials(credentials.clone()),
            None => builder,
        };
        builder.build::<Tokio1Executor>().test_connection().await
    }

    /// Hands one mail over, on an idle connection or a new one. A
    /// connection that failed is closed, never reused.
    pub(super) async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), MailError> {
        let mut connection = self.connection().await?;
        match connection.send(envelope, message).await {
            Ok(_) => {
                self.put_back(connection);
                Ok(())
            }
            Err(error) => {
                connection.abort().await;
                Err(MailError::from_smtp(&error))
            }
        }
    }

    /// An idle connection still open, or a new one. An idle one is asked
    /// for a `NOOP` first, as lettre's pool did: the relay may have closed
    /// it meanwhile (many close after some mails, or when quiet), and a
    /// mail sent into a closed connection would wait for its next attempt.
    async fn connection(&self) -> Result<AsyncSmtpConnection, MailError> {
        while let Some((mut connection, since)) = self.take_idle() {
            if since.elapsed() < IDLE_LIMIT && connection.test_connected().await {
                return Ok(connection);
            }
            connection.abort().await;
        }
        self.connect().await
    }

    fn take_idle(&self) -> Option<(AsyncSmtpConnection, Instant)> {
        self.idle.lock().ok()?.pop()
    }

    fn put_back(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.settings.max_idle {
                idle.push((connection, Instant::now()));
            }
        }
        // Otherwise dropped: the socket closes without a QUIT, which
        // relays take as well as one.
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let settings = &*self.settings;
        let unreachable = || MailError::Smtp {
            permanent: false,
            code: None,
        };
        let tcp = tokio::time::timeout(
            settings.connect_timeout,
            TcpStream::connect((settings.host.as_str(), settings.port)),
        )
        .await
        .map_err(|_| MailError::Timeout)?
        .map_err(|_| unreachable())?;
        // The point of this module (see above).
        tcp.set_nodelay(true).map_err(|_| unreachable())?;
        let smtp = |e: lettre::transport::smtp::Error| MailError::from_smtp(&e);
        let mut connection = match &settings.security {
            Security::None => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .map_err(smtp)?
            }
            Security::Starttls(tls) => {
                let mut connection =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                        .await
                        .map_err(smtp)?;
                // On the same socket: TCP_NODELAY stays.
                connection
                    .starttls(tls.clone(), &self.hello)
                    .await
                    .map_err(smtp)?;
                connection
            }
            Security::Tls(tls) => {
                // lettre's TLS, on our socket, before the greeting.
                #[allow(deprecated)]
                let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
                stream.upgrade_tls(tls.clone()).await.map_err(smtp)?;
                let stream = TlsStream(stream.compat());
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                    .await
                    .map_err(smtp)?
            }
        };
        if let Some(credentials) = &settings.credentials {
            if let Err(error) = connection.auth(DEFAULT_MECHANISMS, credentials).await {
                connection.abort().await;
                return Err(smtp(error));
            }
        }
        Ok(connection)
    }
}

/// lettre's TLS stream (which speaks the `futures` I/O traits) as the
/// tokio stream its SMTP client takes.
#[allow(deprecated)]
#[derive(Debug)]
struct TlsStream(Compat<AsyncNetworkStream>);

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().peer_addr()
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
