//! The member's commands: `member add`, `member recover`, `inbox`, `read`,
//! `send`, `fulfil`, `delete`. The password comes from LATCHKEY_PASSWORD or
//! the terminal, never from an argument (it would show in `ps`).

use latchkey_client::{Delivery, Member, ServerUrl};
use latchkey_core::ConversationId;
use latchkey_server::config::cli_vars;
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::output;

/// Who and where.
#[derive(clap::Args)]
pub struct MemberArgs {
    /// The server, e.g. https://chat.example.org.
    #[arg(long, env = cli_vars::SERVER, hide_env_values = true)]
    server: String,
    /// Your handle.
    #[arg(long, env = cli_vars::HANDLE, hide_env_values = true)]
    handle: String,
}

/// `latchkey member …`.
#[derive(clap::Subcommand)]
pub enum MemberCommand {
    /// Register a member (password from LATCHKEY_PASSWORD or stdin).
    Add(AddArgs),
    /// Set a new password with the recovery key (LKR1-…, from
    /// LATCHKEY_RECOVERY_KEY or the first line of stdin); the new password
    /// comes from LATCHKEY_PASSWORD.
    Recover {
        #[command(flatten)]
        member: MemberArgs,
    },
}

/// `latchkey member add`.
#[derive(clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    member: MemberArgs,
    /// Display name shown to guests.
    #[arg(long)]
    name: String,
    /// Where notices of new messages go.
    #[arg(long)]
    email: String,
    /// The registration code, if the server's operator set one.
    // Not LATCHKEY_REGISTRATION_CODE: that one sets the code a server
    // demands, and `serve` reads it.
    #[arg(long, env = cli_vars::MEMBER_CODE, hide_env_values = true)]
    code: Option<String>,
}

/// A member command about one conversation.
#[derive(clap::Args)]
pub struct ConversationArgs {
    #[command(flatten)]
    member: MemberArgs,
    /// Conversation id.
    conversation: String,
}

/// `latchkey send`.
#[derive(clap::Args)]
pub struct SendArgs {
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
}

/// `latchkey member add` and `latchkey member recover`.
pub async fn member(command: MemberCommand) -> Result<(), CliError> {
    match command {
        MemberCommand::Add(args) => add(args).await,
        MemberCommand::Recover { member } => recover(member).await,
    }
}

async fn add(args: AddArgs) -> Result<(), CliError> {
    let server = ServerUrl::parse(&args.member.server)?;
    let password = password()?;
    let mut m = Member::register_with_code(
        &server,
        args.code.as_deref(),
        &args.member.handle,
        &args.name,
        &args.email,
        password.as_bytes(),
    )
    .await?;
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

async fn recover(args: MemberArgs) -> Result<(), CliError> {
    let server = ServerUrl::parse(&args.server)?;
    let key = match std::env::var(cli_vars::RECOVERY_KEY) {
        Ok(key) => Zeroizing::new(key),
        Err(_) => {
            eprint!("recovery key: ");
            let mut line = Zeroizing::new(String::new());
            std::io::stdin()
                .read_line(&mut line)
                .map_err(CliError::io("cannot read the recovery key"))?;
            line
        }
    };
    let password = password()?;
    let m = Member::recover(&server, &args.handle, &key, password.as_bytes()).await?;
    println!(
        "new password set for {}; key fingerprint {} (unchanged)",
        m.handle(),
        m.fingerprint()
    );
    Ok(())
}

/// `latchkey inbox`.
pub async fn inbox(args: MemberArgs) -> Result<(), CliError> {
    let member = login(&args).await?;
    let conversations = member.conversations().await?;
    if conversations.is_empty() {
        println!("no conversations");
    }
    for c in &conversations {
        println!("{}", output::conversation_line(c));
    }
    Ok(())
}

/// `latchkey read`.
pub async fn read(args: ConversationArgs) -> Result<(), CliError> {
    let id = conversation_id(&args.conversation)?;
    let m = login(&args.member).await?;
    output::print_messages(&m.read(&id).await?);
    Ok(())
}

/// `latchkey send`.
pub async fn send(args: SendArgs) -> Result<(), CliError> {
    let id = conversation_id(&args.conversation)?;
    let m = login(&args.member).await?;
    let delivery = if args.deliver_myself {
        Delivery::Myself
    } else {
        Delivery::Email
    };
    let sent = m.send(&id, &args.message, delivery).await?;
    println!(
        "sent as message {} (notification: {})",
        sent.seq, sent.notification
    );
    if let Some(link) = sent.link {
        println!("give the guest this link: {}", link.as_str());
    }
    Ok(())
}

/// `latchkey fulfil`.
pub async fn fulfil(args: MemberArgs) -> Result<(), CliError> {
    let m = login(&args).await?;
    let n = m.fulfil_link_requests().await?;
    println!("{n} new link(s) sent");
    Ok(())
}

/// `latchkey delete`.
pub async fn delete(args: ConversationArgs) -> Result<(), CliError> {
    let id = conversation_id(&args.conversation)?;
    let m = login(&args.member).await?;
    m.delete(&id).await?;
    println!("deleted");
    Ok(())
}

fn conversation_id(text: &str) -> Result<ConversationId, CliError> {
    text.parse().map_err(|_| {
        CliError::Usage("a conversation id is 32 hexadecimal digits (see `latchkey inbox`)".into())
    })
}

/// From LATCHKEY_PASSWORD, else the first line of standard input.
fn password() -> Result<Zeroizing<String>, CliError> {
    if let Ok(p) = std::env::var(cli_vars::PASSWORD) {
        if p.is_empty() {
            return Err(CliError::Usage(format!("{} is empty", cli_vars::PASSWORD)));
        }
        return Ok(Zeroizing::new(p));
    }
    eprint!("password: ");
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(CliError::io("cannot read the password"))?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    if trimmed.is_empty() {
        return Err(CliError::Usage("an empty password is not allowed".into()));
    }
    Ok(trimmed)
}

async fn login(args: &MemberArgs) -> Result<Member, CliError> {
    let server = ServerUrl::parse(&args.server)?;
    let password = password()?;
    Ok(Member::login(&server, &args.handle, password.as_bytes()).await?)
}
