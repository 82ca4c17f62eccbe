//! The operator's commands: `init`, `serve`, `migrate`, `admin token …`
//! (the admin API's tokens) and `admin webhook …` (the site's event
//! endpoints), both made in the database directly.

use std::path::PathBuf;

use latchkey_server::config::cli_vars;
use latchkey_server::domain::admin as admin_api;
use latchkey_server::domain::webhooks as webhook_api;
use latchkey_server::store::Store;
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
    latchkey_server::store::Store::rebuild_small_pages(config.database_url.expose()).await;
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

/// `latchkey admin …`: the operator's work on the database itself.
#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Tokens of the admin API (the site's backend): create, list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Webhook endpoints of the site's backend: add, list, remove.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

/// `latchkey admin webhook …`.
#[derive(clap::Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; print its id and its secret once (the secret is
    /// derived from the secrets file, and stored nowhere).
    Add(WebhookAddArgs),
    /// List the endpoints: id, URL, last delivered event, failures.
    List(ServerArgs),
    /// Remove an endpoint by id: nothing more is sent to it.
    Remove(WebhookRemoveArgs),
}

/// `latchkey admin webhook add`.
#[derive(clap::Args)]
pub struct WebhookAddArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Where events are POSTed: https://…, or http:// to a loopback address.
    #[arg(long)]
    url: String,
}

/// `latchkey admin webhook remove`.
#[derive(clap::Args)]
pub struct WebhookRemoveArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The endpoint's id (see `latchkey admin webhook list`).
    id: String,
}

/// `latchkey admin token …`.
#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once (only its SHA-256 is stored).
    Create(TokenCreateArgs),
    /// List the tokens: name, scopes, created, last used, revoked.
    List(ServerArgs),
    /// Revoke a token by name: it authenticates nothing from now on.
    Revoke(TokenRevokeArgs),
}

/// `latchkey admin token create`.
#[derive(clap::Args)]
pub struct TokenCreateArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// What the log and the listing call it (letters, digits, '-', '_', '.').
    #[arg(long)]
    name: String,
    /// What it may do, comma-separated: members:read, members:write, webhooks:manage.
    #[arg(long, value_delimiter = ',', required = true)]
    scope: Vec<String>,
}

/// `latchkey admin token revoke`.
#[derive(clap::Args)]
pub struct TokenRevokeArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The token's name.
    name: String,
}

/// Runs `latchkey admin …`.
pub async fn admin(command: AdminCommand) -> Result<(), CliError> {
    let command = match command {
        AdminCommand::Token { command } => command,
        AdminCommand::Webhook { command } => return webhook(command).await,
    };
    match command {
        TokenCommand::Create(args) => {
            let store = migrated_store(&args.server).await?;
            let token = admin_api::create_token(&store, &args.name, &args.scope)
                .await
                .map_err(token_error)?;
            // The one time it is shown.
            println!("{}", token.expose());
            eprintln!(
                "token {:?} created; it is shown only now: keep it in the site's secrets",
                args.name
            );
            Ok(())
        }
        TokenCommand::List(server) => {
            let store = migrated_store(&server).await?;
            let tokens = admin_api::list_tokens(&store).await.map_err(token_error)?;
            println!("NAME\tSCOPES\tCREATED\tLAST USED\tREVOKED");
            for token in tokens {
                let time = |t: Option<latchkey_server::store::Timestamp>| {
                    t.map_or_else(|| "-".to_owned(), |t| t.rfc3339_seconds())
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    token.name,
                    token.scopes.join(","),
                    time(Some(token.created_at)),
                    time(token.last_used_at),
                    time(token.revoked_at),
                );
            }
            Ok(())
        }
        TokenCommand::Revoke(args) => {
            let store = migrated_store(&args.server).await?;
            admin_api::revoke_token(&store, &args.name)
                .await
                .map_err(token_error)?;
            println!("token {:?} revoked", args.name);
            Ok(())
        }
    }
}

/// Runs `latchkey admin webhook …`.
async fn webhook(command: WebhookCommand) -> Result<(), CliError> {
    let domain = |e: latchkey_server::domain::DomainError| CliError::Usage(e.message().to_owned());
    match command {
        WebhookCommand::Add(args) => {
            let config = args.server.load()?;
            // The key first: without the secrets file no secret can be shown.
            let key = latchkey_server::secrets::webhook_key(&config.secrets_file)?;
            let store = migrated_store(&args.server).await?;
            let added = webhook_api::add(&store, &key, &args.url, "cli")
                .await
                .map_err(domain)?;
            // The one time the secret is shown.
            println!("{}", added.endpoint.id);
            println!("{}", added.secret.as_str());
            eprintln!(
                "webhook endpoint {} added; its secret (second line) is shown only now:                  configure the receiver with it",
                added.endpoint.id
            );
            Ok(())
        }
        WebhookCommand::List(server) => {
            let store = migrated_store(&server).await?;
            let endpoints = webhook_api::list(&store).await.map_err(domain)?;
            println!("ID\tURL\tCREATED\tDELIVERED THROUGH\tFAILED ATTEMPTS\tLAST ERROR");
            for endpoint in endpoints {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    endpoint.id,
                    endpoint.url,
                    endpoint.created_at.rfc3339_seconds(),
                    endpoint.cursor_seq,
                    endpoint.attempts,
                    endpoint.last_error.as_deref().unwrap_or("-"),
                );
            }
            Ok(())
        }
        WebhookCommand::Remove(args) => {
            let store = migrated_store(&args.server).await?;
            webhook_api::remove(&store, &args.id, "cli")
                .await
                .map_err(domain)?;
            println!("webhook endpoint {} removed", args.id.trim());
            Ok(())
        }
    }
}

async fn migrated_store(server: &ServerArgs) -> Result<Store, CliError> {
    let config = server.load()?;
    let store = Store::connect(config.database_url.expose()).await?;
    if !store.is_migrated().await.unwrap_or(false) {
        return Err(CliError::Usage(
            "the database is not up to date: run `latchkey migrate` first".into(),
        ));
    }
    Ok(store)
}

fn token_error(error: admin_api::TokenError) -> CliError {
    match error {
        admin_api::TokenError::Store(e) => e.into(),
        other => CliError::Usage(other.to_string()),
    }
}
