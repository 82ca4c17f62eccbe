//! `latchkey doctor`: loads the configuration as `serve` does and checks
//! what `serve` depends on, one line per check. Changes nothing (the checks
//! are in `latchkey_server::doctor`). Exit status 0 when all is well, 1 when
//! a check found a problem, 3 when the configuration does not load.

use latchkey_server::doctor::{self, Check, DatabaseState};

use crate::admin::ServerArgs;
use crate::error::CliError;

/// Counts the problems while printing each check's line.
#[derive(Default)]
struct Report {
    problems: usize,
}

impl Report {
    fn print(&mut self, what: &str, check: &Check) {
        match check {
            Ok(found) => println!("ok       {what}: {found}"),
            Err(problem) => {
                self.problems += 1;
                println!("PROBLEM  {what}: {problem}");
            }
        }
    }
}

/// Runs every check; fails when one found a problem.
pub async fn doctor(args: ServerArgs) -> Result<(), CliError> {
    let mut report = Report::default();
    let config = match args.load() {
        Ok(config) => config,
        Err(error) => {
            report.print(
                "configuration",
                &Err(format!(
                    "{} (nothing else was checked)",
                    error.to_string().trim_start_matches("configuration: ")
                )),
            );
            return Err(error);
        }
    };
    let profile = if config.dev {
        "development profile"
    } else {
        "production profile"
    };
    report.print(
        "configuration",
        &Ok(format!("loads and is valid ({profile})")),
    );
    report.print("public_url", &doctor::check_public_url(&config));
    report.print("secrets file", &doctor::check_secrets_file(&config));
    let (database, store) = doctor::check_database(&config).await;
    let state = match (&database, &store) {
        (_, Some(store)) => DatabaseState::Ready(store),
        (Ok(_), None) => DatabaseState::New,
        (Err(_), None) => DatabaseState::Unknown,
    };
    report.print("database", &database);
    report.print(
        "epoch file",
        &doctor::check_epoch_file(&config, state).await,
    );
    if let Some(store) = &store {
        store.close().await;
    }
    report.print("mail relay", &doctor::check_relay(&config).await);
    match report.problems {
        0 => {
            println!("all checks passed");
            Ok(())
        }
        n => Err(CliError::Failed(
            format!("{n} problem(s) found; see the lines marked PROBLEM").into(),
        )),
    }
}
