//! Background work of every app instance: send outbox mail, sweep dead
//! rows. Any number of instances may run it against one database.

use std::sync::Arc;

use tokio::sync::{watch, Notify};

use crate::config::Config;
use crate::epochs;
use crate::mail::{MailError, MailPayload, Mailer};
use crate::metrics::Metrics;
use crate::secrets::ServerKeys;
use crate::store::{Store, StoreError, Timestamp};
use crate::time::secs_ms;

/// What one outbox step did; tests drive the worker to completion with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No mail was due.
    Idle,
    /// A mail was sent and its row deleted.
    Sent,
    /// Sending failed; the row waits for its next attempt.
    Retry,
    /// The relay refused for good; the row is gone (logged as an error).
    Dropped,
}

/// The outbox worker and sweeper.
#[derive(Clone, Debug)]
pub struct Worker {
    store: Store,
    keys: Arc<ServerKeys>,
    mailer: Mailer,
    config: Arc<Config>,
    metrics: Metrics,
}

impl Worker {
    /// A worker over these parts.
    pub fn new(
        store: Store,
        keys: Arc<ServerKeys>,
        mailer: Mailer,
        config: Arc<Config>,
        metrics: Metrics,
    ) -> Self {
        Worker {
            store,
            keys,
            mailer,
            config,
            metrics,
        }
    }

    /// Claims, sends and completes at most one mail.
    pub async fn send_one(&self) -> Result<Outcome, StoreError> {
        let now = Timestamp::now();
        let Some(mail) = self
            .store
            .claim_mail(now, secs_ms(self.config.outbox.lease.as_secs()))
            .await?
        else {
            return Ok(Outcome::Idle);
        };
        let payload = self
            .keys
            .outbox
            .open(mail.id.as_bytes(), &mail.payload_sealed)
            .ok()
            .and_then(|bytes| MailPayload::from_bytes(&bytes));
        // The whole hand-over must end well inside the lease, or another
        // worker could take the row over and send the mail a second time.
        let budget = self.config.outbox.lease.saturating_mul(3) / 4;
        let result = match payload {
            Some(payload) => {
                match tokio::time::timeout(
                    budget,
                    self.mailer.send(payload.render(&self.config.public_url)),
                )
                .await
                {
                    Ok(sent) => sent,
                    Err(_) => Err(MailError::Timeout),
                }
            }
            // Not dropped: a row sealed under other keys (a swapped secrets
            // file) can be sent once the right file is back.
            None => Err(MailError::Unreadable),
        };
        match &result {
            Ok(()) => self.metrics.mail_sent(),
            Err(error) => self.metrics.mail_failed(error),
        }
        match result {
            Ok(()) => {
                if !self.store.complete_mail(&mail).await? {
                    tracing::warn!(mail = %mail.id, "lease lost while sending; the mail may go out twice");
                }
                tracing::info!(mail = %mail.id, attempts = mail.attempts, "mail sent");
                Ok(Outcome::Sent)
            }
            Err(error) if error.is_permanent() => {
                // The relay refused for good (or the address cannot be
                // written): keeping the row, and its sealed link key, helps
                // no one.
                self.store.complete_mail(&mail).await?;
                tracing::error!(mail = %mail.id, attempts = mail.attempts, %error, "mail dropped");
                Ok(Outcome::Dropped)
            }
            Err(error) => {
                let delay = backoff_secs(mail.attempts, self.config.outbox.max_backoff.as_secs());
                if matches!(error, MailError::Certificate { .. } | MailError::Tls { .. }) {
                    // The operator's to put right (the relay's certificate,
                    // `mail.smtp.ca_file`, the security setting): the
                    // line's message says what, not a field to look for.
                    tracing::warn!(mail = %mail.id, attempts = mail.attempts, retry_in_secs = delay, "{error}; the mail stays queued");
                } else {
                    tracing::warn!(mail = %mail.id, attempts = mail.attempts, retry_in_secs = delay, %error, "mail not sent");
                }
                self.store
                    .retry_mail(&mail, Timestamp::now().plus_ms(secs_ms(delay)))
                    .await?;
                Ok(Outcome::Retry)
            }
        }
    }

    /// Runs until `shutdown` turns true: sends mail as it comes due, up to
    /// `mail.smtp.connections` at once, and sweeps every
    /// `outbox.sweep_secs`.
    ///
    /// One lane polls, folds link requests and sweeps; the others (one per
    /// further connection) sleep until it sends a mail, then claim and send
    /// beside it until the outbox has nothing due. Each mail is still
    /// claimed, sent and completed on its own lease, exactly as with one
    /// lane: a killed instance's mails are sent again once their leases run
    /// out, and an idle server asks the database no more often than before.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        // The dev mailbox is a list in memory: nothing to overlap.
        let lanes = match self.mailer.dev_mailbox() {
            Some(_) => 1,
            None => self.config.mail.smtp.connections.max(1),
        };
        let work = Arc::new(Notify::new());
        let helpers: Vec<_> = (1..lanes)
            .map(|_| tokio::spawn(self.clone().help(shutdown.clone(), work.clone())))
            .collect();
        self.lead(shutdown, work).await;
        for helper in helpers {
            if let Err(error) = helper.await {
                tracing::error!(%error, "outbox lane");
            }
        }
    }

    /// The lane that polls and sweeps; wakes the others on `work`.
    async fn lead(self, mut shutdown: watch::Receiver<bool>, work: Arc<Notify>) {
        let poll = self.config.outbox.poll;
        let sweep_every = self.config.outbox.sweep;
        let mut last_sweep = tokio::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                return;
            }
            // New-link requests wait in a queue (constant work for the
            // guest's request); emptied here so none lingers, even while no
            // member's client is reading.
            if let Err(error) = self.store.fold_link_requests().await {
                tracing::error!(%error, "new-link requests");
            }
            let outcome = self.send_one().await;
            if let Err(error) = &outcome {
                tracing::error!(%error, "outbox worker");
            }
            if matches!(outcome, Ok(Outcome::Sent)) {
                // More may be due: the other lanes take their share.
                work.notify_waiters();
            }
            if last_sweep.elapsed() >= sweep_every {
                last_sweep = tokio::time::Instant::now();
                self.sweep().await;
            }
            if !matches!(outcome, Ok(Outcome::Sent)) {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// A further lane: sends while mail is due, then waits for the lead
    /// lane to find more.
    async fn help(self, mut shutdown: watch::Receiver<bool>, work: Arc<Notify>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let outcome = self.send_one().await;
            if let Err(error) = &outcome {
                tracing::error!(%error, "outbox worker");
            }
            if !matches!(outcome, Ok(Outcome::Sent)) {
                tokio::select! {
                    _ = work.notified() => {}
                    changed = shutdown.changed() => {
                        // The sender gone: the server is going away.
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// One sweep; failures are logged and retried next time.
    pub async fn sweep(&self) {
        let config = &self.config;
        match self
            .store
            .sweep(
                Timestamp::now(),
                secs_ms(config.links.grace.as_secs()),
                secs_ms(config.links.ttl.as_secs()),
                secs_ms(config.retention.as_secs()),
            )
            .await
        {
            Ok(swept) if swept.grants > 0 || swept.conversations > 0 => {
                self.metrics.swept(swept);
                tracing::info!(
                    grants = swept.grants,
                    conversations = swept.conversations,
                    "swept"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "sweep"),
        }
        // After the sweep, so that the grants of an erased epoch are gone
        // from the table too (the sweep deletes them by their own times).
        // File I/O and fsync: off the async threads.
        let keys = self.keys.clone();
        let first_before = keys.epochs.first();
        let forgotten =
            tokio::task::spawn_blocking(move || keys.epochs.forget_dead(Timestamp::now())).await;
        match forgotten {
            Ok(Ok(Some(first))) => {
                self.metrics
                    .epoch_keys_erased(first.saturating_sub(first_before));
                tracing::info!(first_epoch = first, "erased dead epoch keys");
            }
            Ok(Ok(None)) => {}
            Ok(Err(error)) => tracing::error!(%error, "erasing dead epoch keys"),
            Err(error) => tracing::error!(%error, "erasing dead epoch keys"),
        }
        // Keeps the record recent, so that an instance started later with
        // another epoch file is refused; and says so loudly should this
        // instance find that another already runs with one.
        let epochs = &self.keys.epochs;
        let checked = match epochs::record_in_database(&self.store, epochs, Timestamp::now()).await
        {
            Ok(()) => epochs::matches_database(&self.store, epochs, Timestamp::now()).await,
            Err(error) => Err(error),
        };
        match checked {
            Ok(true) => {}
            Ok(false) => tracing::error!(
                path = %epochs.path().display(),
                "another instance on this database uses another epoch file: links sealed by \
                 one do not open on the other; give every instance the same file"
            ),
            Err(error) => tracing::error!(%error, "checking the epoch file against the database"),
        }
    }
}

/// 2^attempts seconds, capped.
fn backoff_secs(attempts: i64, max: u64) -> u64 {
    let exponent = u32::try_from(attempts.clamp(0, 32)).unwrap_or(32);
    2u64.saturating_pow(exponent).min(max)
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff_secs(1, 3600), 2);
        assert_eq!(backoff_secs(5, 3600), 32);
        assert_eq!(backoff_secs(40, 3600), 3600);
        assert_eq!(backoff_secs(-3, 3600), 1);
    }
}
