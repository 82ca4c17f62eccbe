//! `latchkey`: run the server, administer it, and use it from a terminal as
//! a member or a guest. One module per audience: [`admin`] (the operator),
//! [`member`], [`guest`]; [`output`] prints; [`error`] maps every failure
//! to an exit code.

// A command-line program's output is stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod admin;
mod backup;
mod doctor;
mod error;
mod guest;
mod member;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{CliError, EXIT_CODES};

const ENVIRONMENT: &str = "\
Environment:
  LATCHKEY_SERVER, LATCHKEY_HANDLE    --server and --handle of the member and guest commands
  LATCHKEY_PASSWORD                   the member's password (else asked on standard input)
  LATCHKEY_RECOVERY_KEY               member recover: the recovery key (else asked)
  LATCHKEY_MEMBER_CODE                member add --code
  LATCHKEY_CONFIG                     --config of the operator commands (init, serve, migrate, doctor, backup, restore)
  LATCHKEY_<SECTION>__<SETTING>       a server setting (serve, init, migrate); these and
                                      the client's variables above never overlap

";

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "End-to-end encrypted messages between members and guests who have only an e-mail address.",
    after_long_help = exit_help()
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The environment and exit codes, after `--help`.
fn exit_help() -> String {
    format!("{ENVIRONMENT}{EXIT_CODES}")
}

#[derive(Subcommand)]
enum Command {
    /// Write a new secrets file (root key + OPAQUE server setup) and epoch file, mode 0600.
    Init(admin::InitArgs),
    /// Run the server (HTTP API and mail worker).
    Serve(admin::ServerArgs),
    /// Apply database migrations and exit.
    Migrate(admin::ServerArgs),
    /// Check the configuration, files, database and mail relay; change nothing.
    Doctor(admin::ServerArgs),
    /// Copy the SQLite database while the server runs (mode 0600; PostgreSQL: pg_dump).
    Backup(backup::BackupArgs),
    /// Put a checked backup in place of the SQLite database (PostgreSQL: pg_restore).
    Restore(backup::RestoreArgs),
    /// Operator: admin API tokens and webhook endpoints (`latchkey admin token|webhook …`).
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Members: `latchkey member add`.
    Member {
        #[command(subcommand)]
        command: member::MemberCommand,
    },
    /// List your conversations (password from LATCHKEY_PASSWORD or stdin).
    Inbox(member::MemberArgs),
    /// Read a conversation.
    Read(member::ConversationArgs),
    /// Send a message to a guest; he gets a new link.
    Send(member::SendArgs),
    /// E-mail a new link to every guest who asked for one.
    Fulfil(member::MemberArgs),
    /// Delete a conversation.
    Delete(member::ConversationArgs),
    /// Guest: write to a member.
    Contact(guest::ContactArgs),
    /// Guest: open a link, print the conversation, optionally reply.
    Open(guest::OpenArgs),
    /// Guest: ask for a new link (the member's client sends it).
    RequestLink(guest::RequestLinkArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the async runtime"))
        .and_then(|runtime| runtime.block_on(run(cli.command)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Init(args) => admin::init(args),
        Command::Serve(args) => admin::serve(args).await,
        Command::Migrate(args) => admin::migrate(args).await,
        Command::Doctor(args) => doctor::doctor(args).await,
        Command::Backup(args) => backup::backup(args).await,
        Command::Restore(args) => backup::restore(args).await,
        Command::Admin { command } => admin::admin(command).await,
        Command::Member { command } => member::member(command).await,
        Command::Inbox(args) => member::inbox(args).await,
        Command::Read(args) => member::read(args).await,
        Command::Send(args) => member::send(args).await,
        Command::Fulfil(args) => member::fulfil(args).await,
        Command::Delete(args) => member::delete(args).await,
        Command::Contact(args) => guest::contact(args).await,
        Command::Open(args) => guest::open(args).await,
        Command::RequestLink(args) => guest::request_new_link(args).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use latchkey_server::config::cli_vars;

    use super::Cli;

    /// Every variable the command line reads is on the list that
    /// configuration loading skips (and so is no server setting).
    #[test]
    fn the_client_variables_are_the_listed_ones() {
        fn walk(command: &clap::Command, found: &mut Vec<String>) {
            for arg in command.get_arguments() {
                if let Some(env) = arg.get_env() {
                    found.push(env.to_string_lossy().into_owned());
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, found);
            }
        }
        let mut found = Vec::new();
        walk(&Cli::command(), &mut found);
        // Read with std::env::var, not through clap.
        found.extend([cli_vars::PASSWORD.into(), cli_vars::RECOVERY_KEY.into()]);
        for name in &found {
            assert!(cli_vars::is_not_a_setting(name), "{name} is not listed");
        }
        for name in cli_vars::ALL {
            assert!(
                found.iter().any(|f| f == name),
                "{name} is listed but unused"
            );
            assert!(super::ENVIRONMENT.contains(name), "--help omits {name}");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
