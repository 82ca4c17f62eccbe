//! `latchkey`: run the server, administer it, and use it from a terminal as
//! a member or a guest.

// A command-line program's output is stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use latchkey_client::{request_link, ClientError, Delivery, Guest, Member, ServerUrl};
use latchkey_core::{ConversationId, Role};
use latchkey_server::{App, Config};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "End-to-end encrypted messages between members and guests who have only an e-mail address."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ServerArgs {
    /// TOML configuration file (then LATCHKEY_* variables override it).
    #[arg(long, env = "LATCHKEY_CONFIG")]
    config: Option<PathBuf>,
    /// Development profile: data in ./latchkey-dev/, e-mail kept at /dev/mail
    /// and printed here, secrets created if missing. Never in production.
    #[arg(long)]
    dev: bool,
}

#[derive(clap::Args)]
struct MemberArgs {
    /// The server, e.g. https://chat.example.org.
    #[arg(long, env = "LATCHKEY_SERVER")]
    server: String,
    /// Your handle.
    #[arg(long, env = "LATCHKEY_HANDLE")]
    handle: String,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new secrets file (root key + OPAQUE server setup), mode 0600.
    Init {
        #[command(flatten)]
        server: ServerArgs,
        /// Where to write it (default: the configured `secrets_file`).
        #[arg(long)]
        secrets_file: Option<PathBuf>,
    },
    /// Run the server (HTTP API and mail worker).
    Serve(ServerArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
    /// Members: `latchkey member add`.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// List your conversations (password from LATCHKEY_PASSWORD or stdin).
    Inbox(MemberArgs),
    /// Read a conversation.
    Read {
        #[command(flatten)]
        member: MemberArgs,
        /// Conversation id.
        conversation: String,
    },
    /// Send a message to a guest; he gets a new link.
    Send {
        #[command(flatten)]
        member: MemberArgs,
        /// Conversation id.
        conversation: String,
        /// The text.
        message: String,
        /// Print the link instead of letting the server e-mail it (the
        /// server never sees it).
        #[arg(long)]
        deliver_myself: bool,
    },
    /// E-mail a new link to every guest who asked for one.
    Fulfil(MemberArgs),
    /// Delete a conversation.
    Delete {
        #[command(flatten)]
        member: MemberArgs,
        /// Conversation id.
        conversation: String,
    },
    /// Guest: write to a member.
    Contact {
        /// The server.
        #[arg(long, env = "LATCHKEY_SERVER")]
        server: String,
        /// The member's handle.
        handle: String,
        /// Your e-mail address: your link goes there.
        #[arg(long)]
        email: String,
        /// Your name.
        #[arg(long, default_value = "")]
        name: String,
        /// The text.
        message: String,
    },
    /// Guest: open a link, print the conversation, optionally reply.
    Open {
        /// The link from the e-mail (https://…/open#k1.…), or `-` to read
        /// it from standard input (keeps it out of `ps` and shell history).
        link: String,
        /// Reply with this text.
        #[arg(long)]
        reply: Option<String>,
    },
    /// Guest: ask for a new link (the member's client sends it).
    RequestLink {
        /// The server.
        #[arg(long, env = "LATCHKEY_SERVER")]
        server: String,
        /// Your e-mail address.
        #[arg(long)]
        email: String,
        /// Only your conversation with this member.
        #[arg(long)]
        handle: Option<String>,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Register a member (password from LATCHKEY_PASSWORD or stdin).
    Add {
        #[command(flatten)]
        member: MemberArgs,
        /// Display name shown to guests.
        #[arg(long)]
        name: String,
        /// Where notices of new messages go.
        #[arg(long)]
        email: String,
        /// The registration code, if the server's operator set one.
        #[arg(long, env = "LATCHKEY_REGISTRATION_CODE")]
        code: Option<String>,
    },
    /// Set a new password with the recovery key (LKR1-…, from
    /// LATCHKEY_RECOVERY_KEY or the first line of stdin); the new password
    /// comes from LATCHKEY_PASSWORD.
    Recover {
        #[command(flatten)]
        member: MemberArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Init {
            server,
            secrets_file,
        } => {
            let config = load_config(&server)?;
            let path = secrets_file.unwrap_or(config.secrets_file);
            latchkey_server::secrets::init(&path).map_err(|e| e.to_string())?;
            println!(
                "wrote {} (keep it safe, beside the database, never inside its folder)",
                path.display()
            );
            Ok(())
        }
        Command::Serve(args) => serve(&args).await,
        Command::Migrate(args) => {
            let config = load_config(&args)?;
            let store = latchkey_server::store::Store::connect(config.database_url.expose())
                .await
                .map_err(|e| e.to_string())?;
            store.migrate().await.map_err(|e| e.to_string())?;
            println!("database is up to date");
            Ok(())
        }
        Command::Member {
            command:
                MemberCommand::Add {
                    member,
                    name,
                    email,
                    code,
                },
        } => {
            let password = password()?;
            let mut m = Member::register_with_code(
                &url(&member.server)?,
                code.as_deref(),
                &member.handle,
                &name,
                &email,
                password.as_bytes(),
            )
            .await
            .map_err(explain)?;
            if let Some(recovery) = m.take_recovery_key() {
                println!(
                    "recovery key (shown once; keep it offline, it replaces a lost password): {}",
                    recovery.expose_printable().as_str()
                );
            }
            println!(
                "registered {} ({}); key fingerprint {}",
                m.handle(),
                m.display_name(),
                m.fingerprint()
            );
            Ok(())
        }
        Command::Member {
            command: MemberCommand::Recover { member },
        } => {
            let key = match std::env::var("LATCHKEY_RECOVERY_KEY") {
                Ok(key) => Zeroizing::new(key),
                Err(_) => {
                    eprint!("recovery key: ");
                    let mut line = Zeroizing::new(String::new());
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|e| format!("cannot read the recovery key: {e}"))?;
                    line
                }
            };
            let password = password()?;
            let m = Member::recover(
                &url(&member.server)?,
                &member.handle,
                &key,
                password.as_bytes(),
            )
            .await
            .map_err(explain)?;
            println!(
                "new password set for {}; key fingerprint {} (unchanged)",
                m.handle(),
                m.fingerprint()
            );
            Ok(())
        }
        Command::Inbox(args) => {
            let member = login(&args).await?;
            let conversations = member.conversations().await.map_err(explain)?;
            if conversations.is_empty() {
                println!("no conversations");
            }
            for c in conversations {
                println!(
                    "{}  {} message(s), {} unread{}{}",
                    c.id,
                    c.last_seq,
                    c.unread,
                    if c.confirmed {
                        ""
                    } else {
                        ", address not yet confirmed"
                    },
                    if c.link_requested {
                        ", guest asked for a new link"
                    } else {
                        ""
                    },
                );
            }
            Ok(())
        }
        Command::Read {
            member,
            conversation,
        } => {
            let m = login(&member).await?;
            let messages = m
                .read(&conversation_id(&conversation)?)
                .await
                .map_err(explain)?;
            print_messages(&messages);
            Ok(())
        }
        Command::Send {
            member,
            conversation,
            message,
            deliver_myself,
        } => {
            let m = login(&member).await?;
            let delivery = if deliver_myself {
                Delivery::Myself
            } else {
                Delivery::Email
            };
            let sent = m
                .send(&conversation_id(&conversation)?, &message, delivery)
                .await
                .map_err(explain)?;
            println!(
                "sent as message {} (notification: {})",
                sent.seq, sent.notification
            );
            if let Some(link) = sent.link {
                println!("give the guest this link: {}", link.as_str());
            }
            Ok(())
        }
        Command::Fulfil(args) => {
            let m = login(&args).await?;
            let n = m.fulfil_link_requests().await.map_err(explain)?;
            println!("{n} new link(s) sent");
            Ok(())
        }
        Command::Delete {
            member,
            conversation,
        } => {
            let m = login(&member).await?;
            m.delete(&conversation_id(&conversation)?)
                .await
                .map_err(explain)?;
            println!("deleted");
            Ok(())
        }
        Command::Contact {
            server,
            handle,
            email,
            name,
            message,
        } => {
            let (id, member) =
                Guest::contact(&url(&server)?, &handle, &email, &name, &message, None)
                    .await
                    .map_err(explain)?;
            println!(
                "sent to {} (key fingerprint {}); conversation {id}. Check your mail for your link.",
                member.display_name, member.fingerprint
            );
            Ok(())
        }
        Command::Open { link, reply } => {
            let link = if link == "-" {
                let mut line = Zeroizing::new(String::new());
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the link: {e}"))?;
                Zeroizing::new(line.trim().to_owned())
            } else {
                Zeroizing::new(link)
            };
            let server = server_of_link(&link)?;
            let guest = Guest::open(&server, &link).await.map_err(explain)?;
            println!(
                "conversation with {} (key fingerprint {})",
                guest.member().display_name,
                guest.member().fingerprint
            );
            print_messages(&guest.read().await.map_err(explain)?);
            if let Some(text) = reply {
                let (seq, _) = guest.reply(&text).await.map_err(explain)?;
                println!("replied as message {seq}");
            }
            Ok(())
        }
        Command::RequestLink {
            server,
            email,
            handle,
        } => {
            request_link(&url(&server)?, &email, handle.as_deref())
                .await
                .map_err(explain)?;
            println!("If this address has a conversation there, a new link will be e-mailed to it once the member is online.");
            Ok(())
        }
    }
}

fn load_config(args: &ServerArgs) -> Result<Config, String> {
    Config::load(args.config.as_deref(), args.dev).map_err(|e| e.to_string())
}

async fn serve(args: &ServerArgs) -> Result<(), String> {
    let config = load_config(args)?;
    init_logging(&config)?;
    if config.dev {
        eprintln!("\n*** DEVELOPMENT MODE: e-mail stays on this machine (see /dev/mail), cookies work over plain HTTP. Never use this in production. ***\n");
    }
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let addr = app.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to find the port.
    println!("latchkey listening on http://{addr}");
    app.run(shutdown_signal()).await.map_err(|e| e.to_string())
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

fn init_logging(config: &Config) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .map_err(|e| format!("log.filter: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if config.log.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| e.to_string())
}

fn url(text: &str) -> Result<ServerUrl, String> {
    ServerUrl::parse(text).map_err(|e| e.to_string())
}

fn server_of_link(link: &str) -> Result<ServerUrl, String> {
    let base = link
        .split_once("/open#")
        .map(|(base, _)| base)
        .ok_or("give the whole link from the e-mail: https://…/open#k1.…")?;
    url(base)
}

fn conversation_id(text: &str) -> Result<ConversationId, String> {
    text.parse()
        .map_err(|_| "a conversation id is 32 hexadecimal digits (see `latchkey inbox`)".to_owned())
}

fn password() -> Result<Zeroizing<String>, String> {
    if let Ok(p) = std::env::var("LATCHKEY_PASSWORD") {
        if p.is_empty() {
            return Err("LATCHKEY_PASSWORD is empty".into());
        }
        return Ok(Zeroizing::new(p));
    }
    eprint!("password: ");
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    if trimmed.is_empty() {
        return Err("an empty password is not allowed".into());
    }
    Ok(trimmed)
}

async fn login(args: &MemberArgs) -> Result<Member, String> {
    let password = password()?;
    Member::login(&url(&args.server)?, &args.handle, password.as_bytes())
        .await
        .map_err(explain)
}

fn explain(error: ClientError) -> String {
    error.to_string()
}

fn print_messages(messages: &[latchkey_client::ReceivedMessage]) {
    for m in messages {
        let who = match m.sender {
            Role::Member => "member",
            Role::Guest => "guest",
        };
        let body = printable(&m.body);
        if let Some((email, name)) = &m.introduction {
            println!(
                "[{}] {who} ({} <{}>):\n{body}\n",
                m.seq,
                printable(name),
                printable(email)
            );
        } else {
            println!("[{}] {who}:\n{body}\n", m.seq);
        }
    }
}

/// Text the other side wrote, made safe for a terminal: control characters
/// (escape sequences, carriage returns that overwrite lines) become U+FFFD;
/// line breaks stay, indented so no line can pass for a message header.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => "\n    ".to_owned(),
            '\t' => "    ".to_owned(),
            c if c.is_control() => '\u{FFFD}'.to_string(),
            c => c.to_string(),
        })
        .collect()
}
