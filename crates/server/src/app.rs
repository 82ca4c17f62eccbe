//! Building and running one app instance: HTTP server and background
//! worker, on a listener bound before anything else so that port 0 works.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, ConfigError};
use crate::domain::Context;
use crate::epochs::{self, EpochKeys};
use crate::http::{metrics_router, router, AppState};
use crate::mail::{MailError, Mailer};
use crate::metrics::Metrics;
use crate::model::Timestamp;
use crate::ratelimit::{Limits, RateLimiter};
use crate::secrets::{self, SecretsError, ServerKeys};
use crate::store::{Store, StoreError};
use crate::webhooks::Deliverer;
use crate::worker::Worker;
use latchkey_core::WrappedConversationKey;

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

/// Refuses an epoch file that is not the chain the other instances on this
/// database use (see [`epochs::matches_database`]). Checked before this
/// instance records its own value (so a stranger does not replace the
/// others' record) and after (another instance may start at the same
/// time).
async fn check_epoch_file(store: &Store, epochs: &EpochKeys) -> Result<(), StartError> {
    let mismatch = || StartError::from(SecretsError::EpochMismatch(epochs.path().to_owned()));
    if !epochs::matches_database(store, epochs, Timestamp::now()).await? {
        return Err(mismatch());
    }
    epochs::record_in_database(store, epochs, Timestamp::now()).await?;
    if !epochs::matches_database(store, epochs, Timestamp::now()).await? {
        return Err(mismatch());
    }
    Ok(())
}

/// Seals the grants stored before epoch keys (a database from an earlier
/// version), so that none is left bare in the table from now on.
async fn seal_old_grants(store: &Store, epochs: &EpochKeys) -> Result<(), StartError> {
    let now = Timestamp::now();
    let old = store.unsealed_grants().await?;
    for grant in &old {
        // A bare key that is not a wrapped key stays as it is: redeeming it
        // reports the corruption.
        let Ok(wrapped) = WrappedConversationKey::from_bytes(grant.wrapped_key.clone()) else {
            continue;
        };
        if let Some((epoch, sealed)) = epochs.seal(now, &grant.id_hash, &wrapped) {
            store.seal_grant(&grant.id_hash, epoch, &sealed).await?;
        }
    }
    if !old.is_empty() {
        tracing::info!(grants = old.len(), "sealed grants from before epoch keys");
    }
    Ok(())
}

/// The metrics endpoint's listener; a failure names the setting, so that a
/// taken port is not mistaken for the site's.
async fn bind_metrics(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("metrics.bind {addr}: {e}")))
}

/// A built, not yet running, app instance.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    /// The metrics endpoint's own listener, when `metrics.bind` is set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    worker: Worker,
    webhooks: Deliverer,
}

impl App {
    /// Loads the secrets (creating them in dev mode), connects and migrates
    /// the database, binds the listener.
    pub async fn build(mut config: Config) -> Result<App, StartError> {
        secrets::check_location(&config.secrets_file, config.database_url.expose())?;
        let epoch_file = config.epoch_file_path();
        secrets::check_epoch_location(&epoch_file, config.database_url.expose())?;
        if std::path::absolute(&epoch_file).ok() == std::path::absolute(&config.secrets_file).ok() {
            return Err(SecretsError::EpochFileIsSecretsFile(epoch_file).into());
        }
        // The secrets file first: a missing one is the operator's to make
        // (except in dev mode), and the epoch file is made beside it.
        if config.dev && !config.secrets_file.exists() {
            secrets::init(&config.secrets_file)?;
            tracing::warn!(
                path = %config.secrets_file.display(),
                "DEV MODE: created a new secrets file. Keep it with the database; \
                 without it every password and sealed address is lost."
            );
        }
        if !config.secrets_file.exists() {
            return Err(SecretsError::Missing(config.secrets_file.clone()).into());
        }
        Store::rebuild_small_pages(config.database_url.expose()).await;
        let store = Store::connect(config.database_url.expose()).await?;
        store.migrate().await?;
        // A database that has seen an epoch file gets no new one: that would
        // orphan every link sealed so far.
        let may_create = store.epoch_check().await?.is_none();
        let (epochs, created) = EpochKeys::open_or_create(
            &epoch_file,
            &config.epoch_settings(),
            Timestamp::now(),
            may_create,
        )?;
        if u64::from(epochs.length_secs()) != config.links.epoch.as_secs() {
            tracing::info!(
                file_secs = epochs.length_secs(),
                configured_secs = config.links.epoch.as_secs(),
                "the epoch file keeps the epoch length it was made with; \
                 links.epoch_secs applies to a new file"
            );
        }
        if created {
            tracing::warn!(
                path = %epoch_file.display(),
                "created a new epoch file. Every instance on this database needs this same \
                 file: copy it to the others before they start."
            );
        }
        let keys = ServerKeys::load(&config.secrets_file, epochs)?;
        check_epoch_file(&store, &keys.epochs).await?;
        seal_old_grants(&store, &keys.epochs).await?;
        // Provider accounts linked before 0015 are still in clear: hash them now.
        crate::domain::oidc::hash_clear_accounts(&store, &keys.blind_index).await?;
        let mailer = Mailer::from_config(&config.mail)?;
        let listener = TcpListener::bind(config.bind).await?;
        let metrics_listener = match config.metrics.bind {
            Some(addr) => Some(bind_metrics(addr).await?),
            None => None,
        };
        let metrics = Metrics::new();
        if config.public_url.is_empty() {
            config.public_url = format!("http://{}", listener.local_addr()?);
        }
        let config = Arc::new(config);
        let keys = Arc::new(keys);
        let live = crate::live::Hub::new(store.clone(), metrics.clone(), config.events.clone());
        let state = AppState {
            live,
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
                metrics: metrics.clone(),
            },
        };
        let webhooks = Deliverer::new(store.clone(), keys.clone(), config.clone(), metrics.clone())
            .map_err(|e| std::io::Error::other(format!("webhook client: {e}")))?;
        let worker = Worker::new(store, keys, mailer, config, metrics);
        Ok(App {
            listener,
            metrics_listener,
            state,
            worker,
            webhooks,
        })
    }

    /// The bound address (the real port when the configuration said 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The metrics endpoint's bound address, when there is one.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics_listener.as_ref().map(TcpListener::local_addr)
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
        let worker = tokio::spawn(self.worker.run(stop_rx.clone()));
        let webhooks = tokio::spawn(self.webhooks.run(stop_rx.clone()));
        let live = tokio::spawn(self.state.live.clone().run(
            self.state.ctx.config.database_url.expose().to_owned(),
            stop_rx.clone(),
        ));
        let store = self.state.ctx.store.clone();
        // The metrics endpoint stops with the site: when the worker's stop
        // signal turns true.
        let metrics = self.metrics_listener.map(|listener| {
            let scrape = metrics_router(self.state.ctx.metrics.clone(), store.clone());
            let mut stopped = stop_rx.clone();
            tokio::spawn(async move {
                axum::serve(listener, scrape)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            })
        });
        let hub = self.state.live.clone();
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                hub.close_all();
            })
            .await;
        let _ = stop_tx.send(true);
        let _ = worker.await;
        let _ = webhooks.await;
        let _ = live.await;
        if let Some(metrics) = metrics {
            match metrics.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "metrics listener"),
                Err(error) => tracing::error!(%error, "metrics listener"),
            }
        }
        store.close().await;
        served.map_err(StartError::Io)
    }
}
