//! The `latchkey` binary as a person uses it: the development profile of the
//! README's run command, the member and guest commands, and the refusals
//! that protect a production set-up.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

fn latchkey(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("latchkey runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn failure(output: &Output) -> String {
    assert!(!output.status.success(), "should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn production_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let db = "sqlite://data/latchkey.db?mode=rwc";

    // No secrets file: serve refuses and says what to do.
    let err = failure(&latchkey(
        dir.path(),
        &["serve"],
        &[("LATCHKEY_DATABASE_URL", db)],
    ));
    assert!(err.contains("latchkey init"), "{err}");

    // Secrets inside the database's folder: refused.
    let inside = dir.path().join("data/secrets.key");
    stdout(&latchkey(
        dir.path(),
        &["init", "--secrets-file", inside.to_str().unwrap()],
        &[],
    ));
    let err = failure(&latchkey(
        dir.path(),
        &["serve"],
        &[
            ("LATCHKEY_DATABASE_URL", db),
            ("LATCHKEY_SECRETS_FILE", "data/secrets.key"),
        ],
    ));
    assert!(
        err.contains("must not be inside the database's folder"),
        "{err}"
    );

    // init never overwrites keys.
    let err = failure(&latchkey(
        dir.path(),
        &["init", "--secrets-file", inside.to_str().unwrap()],
        &[],
    ));
    assert!(err.contains("refusing to overwrite"), "{err}");

    // The dev mailbox outside dev mode, and an unknown setting, are refused.
    let err = failure(&latchkey(
        dir.path(),
        &["serve"],
        &[("LATCHKEY_MAIL__TRANSPORT", "dev")],
    ));
    assert!(err.contains("dev mode"), "{err}");
    let output = latchkey(dir.path(), &["serve"], &[("LATCHKEY_LINKS__TTL", "5")]);
    assert_eq!(output.status.code(), Some(3), "a configuration error");
    let err = failure(&output);
    assert!(
        err.contains(
            "LATCHKEY_LINKS__TTL is not a setting; did you mean LATCHKEY_LINKS__TTL_SECS?"
        ),
        "{err}"
    );

    // migrate applies the migrations and says so.
    let out = stdout(&latchkey(
        dir.path(),
        &["migrate"],
        &[("LATCHKEY_DATABASE_URL", db)],
    ));
    assert!(out.contains("up to date"), "{out}");
}

#[test]
fn the_run_command_profile_end_to_end_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LATCHKEY_BIND", "127.0.0.1:0")
        .env("LATCHKEY_LINKS__GRACE_SECS", "1")
        .args(["serve", "--dev"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.contains("listening on"))
        .expect("the server says where it listens");
    std::thread::spawn(move || for _ in lines {});
    let stderr = server.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines() {
            text.push_str(&line.unwrap_or_default());
            text.push('\n');
        }
        text
    });
    let base = listening.split_whitespace().last().unwrap().to_owned();

    // The dev profile made its secrets file, owner-only, beside the data.
    let secrets = dir.path().join("latchkey-dev/secrets.key");
    assert!(secrets.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(dir.path().join("latchkey-dev/data/latchkey.db").exists());

    let env = [
        ("LATCHKEY_SERVER", base.as_str()),
        ("LATCHKEY_PASSWORD", "a long passphrase"),
        ("LATCHKEY_HANDLE", "bob"),
    ];
    let run = |args: &[&str]| stdout(&latchkey(dir.path(), args, &env));
    let out = run(&[
        "member",
        "add",
        "--name",
        "Bob",
        "--email",
        "bob@example.org",
    ]);
    assert!(out.contains("registered bob"), "{out}");
    let out = run(&[
        "contact",
        "bob",
        "--email",
        "ann@example.org",
        "--name",
        "Ann",
        "Hello Bob",
    ]);
    assert!(out.contains("Check your mail"), "{out}");

    // The guest's link is on the dev mail page.
    let link = wait_for_link(&base, 1);
    // Another address opens nothing and uses nothing up.
    let wrong = latchkey(
        dir.path(),
        &["open", &link, "--email", "eve@example.org", "--reply", "x"],
        &env,
    );
    assert_eq!(wrong.status.code(), Some(4), "authentication failed");
    let err = failure(&wrong);
    assert!(err.contains("sent to another address"), "{err}");
    let out = run(&[
        "open",
        &link,
        "--email",
        "Ann@Example.org",
        "--reply",
        "Second message",
    ]);
    assert!(
        out.contains("Hello Bob") && out.contains("Ann <ann@example.org>"),
        "{out}"
    );
    assert!(out.contains("replied as message 2"), "{out}");

    let out = run(&["inbox"]);
    let conversation = out.split_whitespace().next().unwrap().to_owned();
    assert!(out.contains("2 message(s), 2 unread"), "{out}");
    let out = run(&["read", &conversation]);
    assert!(out.contains("Second message"), "{out}");
    let out = run(&["send", &conversation, "Hello Ann", "--deliver-myself"]);
    let own_link = out
        .split_whitespace()
        .find(|w| w.contains("/open#k1."))
        .expect("the link to hand over")
        .to_owned();
    let out = run(&["open", &own_link, "--email", "ann@example.org"]);
    assert!(out.contains("Hello Ann"), "{out}");

    let out = run(&[
        "request-link",
        "--email",
        "ann@example.org",
        "--handle",
        "bob",
    ]);
    assert!(out.contains("If this address has a conversation"), "{out}");
    let out = run(&["fulfil"]);
    assert!(out.contains("1 new link(s) sent"), "{out}");
    let fresh = wait_for_link(&base, 2);
    assert_ne!(fresh, link);
    // The link can come on standard input, out of `ps` and shell history.
    let mut open = Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .envs(env.iter().copied())
        .args(["open", "-", "--email", "ann@example.org"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = open.stdin.take().unwrap();
        writeln!(stdin, "{fresh}").unwrap();
    }
    let out = stdout(&open.wait_with_output().unwrap());
    assert!(out.contains("Hello Ann"), "{out}");

    std::thread::sleep(Duration::from_millis(1200));
    let err = failure(&latchkey(
        dir.path(),
        &["open", &link, "--email", "ann@example.org"],
        &env,
    ));
    assert!(err.contains("This link has been used"), "{err}");
    let out = run(&["delete", &conversation]);
    assert!(out.contains("deleted"), "{out}");
    assert!(run(&["inbox"]).contains("no conversations"));

    // SIGTERM: a graceful stop.
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no graceful stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let log = log.join().unwrap();
    assert!(log.contains("DEVELOPMENT MODE"), "{log}");
    assert!(log.contains("created a new secrets file"), "{log}");
    assert!(log.contains("[dev mail] to ann@example.org"), "{log}");
}

/// The newest of at least `count` links on `/dev/mail` (newest first).
fn wait_for_link(base: &str, count: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = http_get(&format!("{base}/dev/mail"));
        let links: Vec<String> = page
            .split('"')
            .filter(|s| s.starts_with("http") && s.contains("/open#k1."))
            .map(str::to_owned)
            .collect();
        if links.len() >= count {
            return links[0].clone();
        }
        assert!(Instant::now() < deadline, "no link on /dev/mail:\n{page}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn http_get(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
}
