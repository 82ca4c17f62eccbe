//! The guest's commands: `contact`, `open`, `request-link`. A guest has no
//! account: his link (from the e-mail) is his key.

use latchkey_client::{request_link, Guest, ServerUrl};
use latchkey_server::config::cli_vars;
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::output;

/// `latchkey contact`.
#[derive(clap::Args)]
pub struct ContactArgs {
    /// The server.
    #[arg(long, env = cli_vars::SERVER, hide_env_values = true)]
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
}

/// `latchkey open`.
#[derive(clap::Args)]
pub struct OpenArgs {
    /// The link from the e-mail (https://…/open#k1.…), or `-` to read
    /// it from standard input (keeps it out of `ps` and shell history).
    link: String,
    /// Your e-mail address: the one the link was sent to (the server opens
    /// the link for nobody else; a wrong one uses nothing up).
    #[arg(long)]
    email: String,
    /// Reply with this text.
    #[arg(long)]
    reply: Option<String>,
}

/// `latchkey request-link`.
#[derive(clap::Args)]
pub struct RequestLinkArgs {
    /// The server.
    #[arg(long, env = cli_vars::SERVER, hide_env_values = true)]
    server: String,
    /// Your e-mail address.
    #[arg(long)]
    email: String,
    /// Only your conversation with this member.
    #[arg(long)]
    handle: Option<String>,
}

/// Writes to a member: a new conversation.
pub async fn contact(args: ContactArgs) -> Result<(), CliError> {
    let server = ServerUrl::parse(&args.server)?;
    let (id, member) = Guest::contact(
        &server,
        &args.handle,
        &args.email,
        &args.name,
        &args.message,
        None,
    )
    .await?;
    println!(
        "sent to {} (key fingerprint {}); conversation {id}. Check your mail for your link.",
        member.display_name, member.fingerprint
    );
    Ok(())
}

/// Opens a link, prints the conversation, replies if asked.
pub async fn open(args: OpenArgs) -> Result<(), CliError> {
    let link = if args.link == "-" {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .read_line(&mut line)
            .map_err(CliError::io("cannot read the link"))?;
        Zeroizing::new(line.trim().to_owned())
    } else {
        Zeroizing::new(args.link)
    };
    let server = server_of_link(&link)?;
    let guest = Guest::open(&server, &link, &args.email).await?;
    println!(
        "conversation with {} (key fingerprint {})",
        guest.member().display_name,
        guest.member().fingerprint
    );
    output::print_messages(&guest.read().await?);
    if let Some(text) = args.reply {
        let (seq, _) = guest.reply(&text).await?;
        println!("replied as message {seq}");
    }
    Ok(())
}

/// Asks for a new link; the member's client sends it.
pub async fn request_new_link(args: RequestLinkArgs) -> Result<(), CliError> {
    let server = ServerUrl::parse(&args.server)?;
    request_link(&server, &args.email, args.handle.as_deref()).await?;
    println!("If this address has a conversation there, a new link will be e-mailed to it once the member is online.");
    Ok(())
}

/// The server a link belongs to: everything before `/open#`.
fn server_of_link(link: &str) -> Result<ServerUrl, CliError> {
    let base = link
        .split_once("/open#")
        .map(|(base, _)| base)
        .ok_or_else(|| {
            CliError::Usage("give the whole link from the e-mail: https://…/open#k1.…".into())
        })?;
    Ok(ServerUrl::parse(base)?)
}
