//! A plain SMTP relay that accepts every mail and notes when it came and
//! how many sessions were open then: aiosmtpd (in `target/aiosmtpd/`, see
//! scripts/setup) running `counting_relay.py` beside this file. For the
//! outbox's throughput test and the `outbox_drain` example (which includes
//! this file by path, so it needs nothing but std and tempfile).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The relay process; its log lives as long as it.
pub struct CountingRelay {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// One mail as the relay noted it.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// The SMTP sessions open at that moment (this one included).
    pub open_sessions: u32,
    /// The mails being received at that moment (this one included).
    pub receiving: u32,
    /// Its recipients, comma-separated.
    pub to: String,
}

impl CountingRelay {
    /// On `port`, with the virtualenv python under `repo_root`, taking
    /// `delay` over each mail.
    pub fn start(repo_root: &Path, port: u16, delay: Duration) -> Result<CountingRelay, String> {
        let python = repo_root.join("target/aiosmtpd/bin/python");
        if !python.exists() {
            return Err(format!(
                "{} is missing: run scripts/setup",
                python.display()
            ));
        }
        let script = repo_root.join("crates/cli/tests/support/counting_relay.py");
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = dir.path().join("arrivals.log");
        std::fs::write(&log, "").map_err(|e| e.to_string())?;
        let child = Command::new(python)
            .arg(script)
            .args(["--port", &port.to_string()])
            .args(["--delay-ms", &delay.as_millis().to_string()])
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("the relay does not start: {e}"))?;
        let mut relay = CountingRelay {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = relay.child.try_wait() {
                return Err(format!("the relay exited ({status})"));
            }
            if Instant::now() > deadline {
                return Err("the relay did not come up".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(relay)
    }

    /// Every mail so far, in the order accepted.
    pub fn arrivals(&self) -> Vec<Arrival> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut words = line.split(' ');
                // The first word: when, in the relay's monotonic seconds.
                words.next()?;
                Some(Arrival {
                    open_sessions: words.next()?.parse().ok()?,
                    receiving: words.next()?.parse().ok()?,
                    to: words.next()?.to_owned(),
                })
            })
            .collect()
    }
}

impl Drop for CountingRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
