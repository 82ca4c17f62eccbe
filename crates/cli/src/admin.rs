//! The operator's commands: `init`, `serve`, `migrate`.

use std::path::PathBuf;

use latchkey_server::config::cli_vars;
use latchkey_server::{App, Config};

use crate::error::CliError;

/// Where the configuration comes from.
#[derive(clap::Args)]
pub struct ServerArgs {
    /// TOML configuration file (then LATCHKEY_* variables override it).
    #[arg(long, env = cli_vars::CONFIG, hide_env_values = true)]
    config: Option<PathBuf>,
    /// Development profile: data in ./latchkey-dev/, e-mail kept at /dev/mail
    /// and printed here, secrets created if missing (by `serve`). Never in production.
    #[arg(long)]
    dev: bool,
}

/// `latchkey init`.
#[derive(clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Where to write it (default: the configured `secrets_file`).
    #[arg(long)]
    secrets_file: Option<PathBuf>,
    /// Where to write the epoch file (default: the configured `epoch_file`,
    /// else beside the secrets file with the extension `.epoch`).
    #[arg(long)]
    epoch_file: Option<PathBuf>,
}

impl ServerArgs {
    pub(crate) fn load(&self) -> Result<Config, CliError> {
        Ok(Config::load(self.config.as_deref(), self.dev)?)
    }
}

/// Writes a new secrets file and a new epoch file.
pub fn init(args: InitArgs) -> Result<(), CliError> {
    // Loaded even with --secrets-file: a broken configuration is better
    // found now than at the first `serve`.
    let config = args.server.load()?;
    let epoch_file = match (args.epoch_file, &args.secrets_file, &config.epoch_file) {
        (Some(path), _, _) => path,
        (None, _, Some(path)) => path.clone(),
        (None, Some(secrets), None) => secrets.with_extension("epoch"),
        (None, None, None) => config.epoch_file_path(),
    };
    let path = args.secrets_file.unwrap_or(config.secrets_file.clone());
    // Both new or neither: a new secrets file beside an old epoch file (or
    // the reverse) is a half-made installation.
    if epoch_file.exists() {
        return Err(latchkey_server::secrets::SecretsError::Exists(epoch_file).into());
    }
    latchkey_server::secrets::init(&path)?;
    println!(
        "wrote {} (keep it safe, beside the database, never inside its folder)",
        path.display()
    );
    latchkey_server::epochs::init(&epoch_file, &config.epoch_settings())?;
    println!(
        "wrote {} (copy it to every instance once; keep it out of backups: it erases \
         used links from old copies of the database)",
        epoch_file.display()
    );
    Ok(())
}

/// Applies the migrations.
pub async fn migrate(args: ServerArgs) -> Result<(), CliError> {
    let config = args.load()?;
    let store = latchkey_server::store::Store::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    println!("database is up to date");
    Ok(())
}

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn serve(args: ServerArgs) -> Result<(), CliError> {
    let config = args.load()?;
    init_logging(&config)?;
    if config.dev {
        eprintln!("\n*** DEVELOPMENT MODE: e-mail stays on this machine (see /dev/mail), cookies work over plain HTTP. Never use this in production. ***\n");
    }
    let app = App::build(config).await?;
    let addr = app.local_addr().map_err(CliError::io("listener"))?;
    // Tests and scripts read this line to find the port.
    println!("latchkey listening on http://{addr}");
    // After the site's line, which readers take as the first "listening on".
    if let Some(metrics) = app.metrics_addr() {
        let metrics = metrics.map_err(CliError::io("metrics listener"))?;
        println!("metrics listening on http://{metrics}/metrics");
    }
    Ok(app.run(shutdown_signal()).await?)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

fn init_logging(config: &Config) -> Result<(), CliError> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .map_err(|e| CliError::Config(format!("log.filter: {e}").into()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if config.log.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    result.map_err(CliError::Failed)
}
