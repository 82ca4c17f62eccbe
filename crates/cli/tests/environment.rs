//! The README's walk-through exports the client's variables
//! (LATCHKEY_SERVER, LATCHKEY_PASSWORD, …) in the shell that may also run
//! `latchkey serve`, with LATCHKEY_CONFIG naming its TOML file: the server
//! must start, take its file, and ignore the client's variables.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;

use support::{free_port, Database, NoMailServer, Server, Settings, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn serve_starts_with_the_readme_variables_exported() {
    let db = Database::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("latchkey.toml");
    // Durations with units, and a setting the environment leaves alone
    // (log.json) to show the file was read.
    std::fs::write(
        &config,
        "[log]\njson = true\n[sessions]\nguest_idle_secs = \"20m\"\nmember_idle_secs = \"7d\"\n",
    )
    .unwrap();
    let readme = |server: &str| -> Vec<(String, String)> {
        [
            ("LATCHKEY_SERVER", server),
            ("LATCHKEY_PASSWORD", PASSWORD),
            ("LATCHKEY_HANDLE", "bob"),
            ("LATCHKEY_CONFIG", config.to_str().unwrap()),
            ("LATCHKEY_RECOVERY_KEY", "LKR1-not-a-real-key"),
            ("LATCHKEY_MEMBER_CODE", "let me in"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    };
    let settings = Settings {
        inherit_environment: true,
        extra_env: readme("http://127.0.0.1:8080"),
        ..Settings::default()
    };
    let server = Server::start(&db, &NoMailServer(free_port()), &settings).await;

    let health = reqwest::get(format!("{}/api/v1/health", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let log = server.log_text();
    assert!(
        log.lines().any(|l| l.starts_with('{')),
        "the TOML file's log.json was not applied:\n{log}"
    );

    // The same shell, the client's side: the variables now point at it.
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .envs(readme(&server.base))
        .args([
            "member",
            "add",
            "--name",
            "Bob",
            "--email",
            "bob@example.org",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("registered bob"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .envs(readme(&server.base))
        .arg("inbox")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no conversations\n");
}

#[test]
fn a_mistyped_server_variable_stops_serve_with_its_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env_clear()
        .env("LATCHKEY_SERVER", "http://127.0.0.1:8080")
        .env("LATCHKEY_LINKS__GRACE", "10m")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: configuration: LATCHKEY_LINKS__GRACE is not a setting; did you mean \
         LATCHKEY_LINKS__GRACE_SECS?\n"
    );
}
