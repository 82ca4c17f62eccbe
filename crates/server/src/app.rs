//! Building and running one app instance: HTTP server and background
//! worker, on a listener bound before anything else so that port 0 works.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, ConfigError};
use crate::domain::Context;
use crate::http::{router, AppState};
use crate::mail::{MailError, Mailer};
use crate::ratelimit::{Limits, RateLimiter};
use crate::secrets::{self, SecretsError, ServerKeys};
use crate::store::{Store, StoreError};
use crate::worker::Worker;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Missing or bad secrets file.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// Database unreachable or migration failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad mail settings.
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    /// The listener could not be bound or failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A built, not yet running, app instance.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    state: AppState,
    worker: Worker,
}

impl App {
    /// Loads the secrets (creating them in dev mode), connects and migrates
    /// the database, binds the listener.
    pub async fn build(mut config: Config) -> Result<App, StartError> {
        secrets::check_location(&config.secrets_file, config.database_url.expose())?;
        let keys = match ServerKeys::load(&config.secrets_file) {
            Err(SecretsError::Missing(path)) if config.dev => {
                secrets::init(&path)?;
                tracing::warn!(
                    path = %path.display(),
                    "DEV MODE: created a new secrets file. Keep it with the database; \
                     without it every password and sealed address is lost."
                );
                ServerKeys::load(&path)?
            }
            other => other?,
        };
        let store = Store::connect(config.database_url.expose()).await?;
        store.migrate().await?;
        let mailer = Mailer::from_config(&config.mail)?;
        let listener = TcpListener::bind(config.bind).await?;
        if config.public_url.is_empty() {
            config.public_url = format!("http://{}", listener.local_addr()?);
        }
        let config = Arc::new(config);
        let keys = Arc::new(keys);
        let state = AppState {
            origin: Arc::from(config.public_origin()),
            dev_mailbox: mailer.dev_mailbox().cloned(),
            ip_warnings: Arc::default(),
            ctx: Context {
                store: store.clone(),
                keys: keys.clone(),
                config: config.clone(),
                limiter: Arc::new(RateLimiter::for_store(
                    Limits {
                        max_keys_per_bucket: config.rate_limits.max_keys_per_bucket,
                        ipv4_24_multiple: config.rate_limits.ipv4_24_multiple,
                        ipv6_48_multiple: config.rate_limits.ipv6_48_multiple,
                    },
                    &store,
                    keys.clone(),
                )),
            },
        };
        let worker = Worker::new(store, keys, mailer, config);
        Ok(App {
            listener,
            state,
            worker,
        })
    }

    /// The bound address (the real port when the configuration said 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The worker, to drive by hand in tests.
    pub fn worker(&self) -> Worker {
        self.worker.clone()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests,
    /// stops the worker and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = tokio::spawn(self.worker.run(stop_rx));
        let store = self.state.ctx.store.clone();
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop_tx.send(true);
        let _ = worker.await;
        store.close().await;
        served.map_err(StartError::Io)
    }
}
