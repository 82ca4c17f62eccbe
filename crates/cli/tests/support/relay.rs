//! Mail relays that speak TLS, and the certificate authority that signs
//! their certificates: aiosmtpd (from PyPI, in `target/aiosmtpd/`, see
//! scripts/setup) running `relay.py` beside this file, with keys and
//! certificates `openssl` makes for each test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{free_port, repo_root, SmtpPort};

/// A certificate authority of a test's own: a key and a self-signed
/// certificate, valid for a day, in a folder that lives as long as it.
pub struct TestCa {
    dir: tempfile::TempDir,
    /// The authority's certificate (PEM): what `mail.smtp.ca_file` names.
    pub cert: PathBuf,
}

/// A relay's key and certificate (PEM files in its authority's folder).
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Runs `openssl` in `dir` with `words` (split at white space) and, if
/// given, `-subj SUBJECT`.
fn openssl(dir: &Path, words: &str, subject: Option<&str>) {
    let mut command = Command::new("openssl");
    command.args(words.split_whitespace()).current_dir(dir);
    if let Some(subject) = subject {
        command.args(["-subj", subject]);
    }
    let output = command
        .output()
        .expect("openssl runs (scripts/setup installs it)");
    assert!(
        output.status.success(),
        "openssl {words}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A new EC P-256 key: quick to make, and every TLS stack here takes it.
const NEW_KEY: &str = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

impl TestCa {
    /// A new authority called `name`.
    pub fn new(name: &str) -> TestCa {
        let dir = tempfile::tempdir().expect("temp dir");
        openssl(
            dir.path(),
            &format!(
                "req -x509 {NEW_KEY} -days 1 -keyout ca.key -out ca.pem \
                 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
            ),
            Some(&format!("/CN={name}")),
        );
        TestCa {
            cert: dir.path().join("ca.pem"),
            dir,
        }
    }

    /// A server certificate for `names` (`IP:127.0.0.1`, `DNS:localhost`),
    /// signed by this authority; `file` names its files.
    pub fn issue(&self, file: &str, names: &[&str]) -> Identity {
        let dir = self.dir.path();
        std::fs::write(
            dir.join(format!("{file}.ext")),
            format!(
                "subjectAltName={}\nbasicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
                names.join(",")
            ),
        )
        .expect("extensions file");
        openssl(
            dir,
            &format!("req -new {NEW_KEY} -keyout {file}.key -out {file}.csr"),
            Some("/CN=latchkey test relay"),
        );
        openssl(
            dir,
            &format!(
                "x509 -req -in {file}.csr -days 1 -CA ca.pem -CAkey ca.key -CAcreateserial \
                 -extfile {file}.ext -out {file}.pem"
            ),
            None,
        );
        Identity {
            cert: dir.join(format!("{file}.pem")),
            key: dir.join(format!("{file}.key")),
        }
    }
}

/// How a relay speaks.
#[derive(Clone, Copy, Debug)]
pub enum RelayMode {
    /// Plain greeting, STARTTLS offered and required before MAIL (530).
    StartTls,
    /// TLS from the first byte (port 465 style).
    Tls,
}

/// A relay process; what it accepts lands as files in its inbox.
pub struct Relay {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// A mail as the relay received it.
#[derive(Clone, Debug, Deserialize)]
pub struct RelayMail {
    /// The TLS version it came over (`TLSv1.3`), or `None`: plain text.
    pub tls: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The decoded text body.
    pub text: String,
}

impl RelayMail {
    /// The `…/open#k1.…` link in the text body.
    pub fn link(&self) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| w.contains("/open#k1."))
            .map(str::to_owned)
    }
}

impl Relay {
    /// On a free port, with `identity`'s certificate.
    pub fn start(mode: RelayMode, identity: &Identity) -> Relay {
        Relay::start_on(free_port(), mode, identity)
    }

    /// On `port` (where a relay the test stopped was).
    pub fn start_on(port: u16, mode: RelayMode, identity: &Identity) -> Relay {
        let python = repo_root().join("target/aiosmtpd/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup",
            python.display()
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/relay.py");
        let dir = tempfile::tempdir().expect("temp dir");
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).expect("inbox");
        let log = std::fs::File::create(dir.path().join("relay.log")).expect("relay log");
        let mode_name = match mode {
            RelayMode::StartTls => "starttls",
            RelayMode::Tls => "tls",
        };
        let child = Command::new(python)
            .arg(script)
            .args(["--port", &port.to_string(), "--mode", mode_name])
            .arg("--inbox")
            .arg(&inbox)
            .arg("--cert")
            .arg(&identity.cert)
            .arg("--key")
            .arg(&identity.key)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the relay starts");
        let mut relay = Relay { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = relay.child.try_wait() {
                panic!("the relay exited ({status}):\n{}", relay.log_text());
            }
            assert!(Instant::now() < deadline, "the relay did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        relay
    }

    /// What the relay wrote to stderr (for a failing test's message).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("relay.log")).unwrap_or_default()
    }

    /// Every mail so far, oldest first.
    pub fn received(&self) -> Vec<RelayMail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("inbox"))
            .expect("inbox")
            .map(|entry| entry.expect("inbox entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                serde_json::from_slice(&std::fs::read(path).expect("mail file")).expect("mail JSON")
            })
            .collect()
    }

    /// Waits until `to` has received `count` mails; returns them all.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<RelayMail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mails: Vec<RelayMail> = self
                .received()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t == to))
                .collect();
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{to} received {} mail(s) at the relay, expected {count}; its log:\n{}",
                mails.len(),
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops it (the port is free again).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

impl SmtpPort for Relay {
    fn smtp_port(&self) -> u16 {
        self.port
    }
}
