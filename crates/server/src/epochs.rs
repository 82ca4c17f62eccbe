//! The epoch file and its schedule: which epoch a new grant is sealed in,
//! which epochs a live grant can still need, and erasing the rest from the
//! file (see `latchkey_core::epoch` and docs/protocol.md §4.17).
//!
//! The file lives beside the secrets file, never in the database or its
//! folder: it is the one thing an old copy of the database lacks. Unlike the
//! secrets file it changes: once an epoch's last grant is dead, the server
//! moves the chain past it and writes the file over in place.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use latchkey_core::epoch::{EpochChain, EpochKey};
use latchkey_core::{OsRng, WrappedConversationKey};

use crate::model::Timestamp;
use crate::secrets::SecretsError;
use crate::store::{Store, StoreError};

/// Derived keys kept in memory, so that a redeem does not walk the chain.
const CACHED_KEYS: usize = 64;

/// At most this many epochs may be alive at once: finding a key walks the
/// chain from the oldest live epoch (a few milliseconds at this count).
pub const MAX_LIVE_EPOCHS: i64 = 10_000;

/// A file further behind than this many epochs is refused rather than
/// walked forward (tens of seconds of hashing): nothing in it can be alive.
const MAX_CATCH_UP_EPOCHS: u64 = 10_000_000;

/// What the configuration says about epochs.
#[derive(Clone, Copy, Debug)]
pub struct EpochSettings {
    /// The epoch length of a new file (`links.epoch_secs`); a file keeps
    /// the length it was made with.
    pub new_length: Duration,
    /// `links.ttl_secs`.
    pub link_ttl: Duration,
    /// `links.grace_secs`.
    pub link_grace: Duration,
}

impl EpochSettings {
    fn new_length_secs(&self) -> u32 {
        u32::try_from(self.new_length.as_secs())
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// How long epochs last and how long their keys are needed.
#[derive(Clone, Copy, Debug)]
pub struct EpochSchedule {
    length_ms: i64,
    keep_ms: i64,
}

impl EpochSchedule {
    /// Epochs of `length_secs`; a grant lives at most `ttl + grace`. An
    /// epoch is kept one epoch longer than its grants can live: slack for
    /// instances whose clocks differ.
    pub fn new(length_secs: u32, settings: &EpochSettings) -> EpochSchedule {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let length_ms = i64::from(length_secs.max(1)) * 1000;
        EpochSchedule {
            length_ms,
            keep_ms: ms(settings.link_ttl)
                .saturating_add(ms(settings.link_grace))
                .saturating_add(length_ms),
        }
    }

    /// How many epochs are alive at once.
    fn live_epochs(&self) -> i64 {
        self.keep_ms / self.length_ms + 1
    }

    /// The epoch `now` falls in.
    pub fn epoch_at(&self, now: Timestamp) -> u64 {
        u64::try_from(now.as_ms().max(0) / self.length_ms).unwrap_or(0)
    }

    /// The oldest epoch whose grants may still be alive at `now`: one made
    /// at the end of epoch `e` lives until `(e + 1) · length + keep`.
    pub fn oldest_needed(&self, now: Timestamp) -> u64 {
        self.epoch_at(now.minus_ms(self.keep_ms))
    }
}

/// The chain in memory, with the keys derived from it lately.
#[derive(Debug)]
struct Chain {
    chain: EpochChain,
    cache: BTreeMap<u64, Arc<EpochKey>>,
}

impl Chain {
    fn key(&mut self, epoch: u64) -> Option<Arc<EpochKey>> {
        if let Some(key) = self.cache.get(&epoch) {
            return Some(key.clone());
        }
        let key = Arc::new(self.chain.key(epoch)?);
        if self.cache.len() >= CACHED_KEYS {
            self.cache.pop_first();
        }
        self.cache.insert(epoch, key.clone());
        Some(key)
    }
}

/// The server's epoch keys, loaded from (and erased in) the epoch file.
#[derive(Debug)]
pub struct EpochKeys {
    path: PathBuf,
    schedule: EpochSchedule,
    chain: Mutex<Chain>,
}

impl EpochKeys {
    /// Reads the epoch file, or writes a new one when it is missing and
    /// `may_create` (a new installation, or one from before epoch keys:
    /// only links not yet used would need an old file, and there is none).
    /// Once a database has seen an epoch file, a missing one is an error:
    /// a new chain would not open the links the old one sealed, on this
    /// instance or any other. Returns whether the file was made now.
    pub fn open_or_create(
        path: &Path,
        settings: &EpochSettings,
        now: Timestamp,
        may_create: bool,
    ) -> Result<(EpochKeys, bool), SecretsError> {
        let (chain, created) = match read(path)? {
            Some(chain) => (chain, false),
            None if may_create => {
                let chain = new_chain(settings, now);
                create(path, &chain)?;
                (chain, true)
            }
            None => return Err(SecretsError::MissingEpochFile(path.to_owned())),
        };
        let keys = EpochKeys::checked(path, chain, settings, now)?;
        keys.forget_dead(now)?;
        Ok((keys, created))
    }

    /// Reads the epoch file and checks it as [`EpochKeys::open_or_create`]
    /// does, but writes nothing: the epochs it has outlived stay in memory
    /// (`latchkey doctor`). `None` when there is no file.
    pub fn open_read_only(
        path: &Path,
        settings: &EpochSettings,
        now: Timestamp,
    ) -> Result<Option<EpochKeys>, SecretsError> {
        match read(path)? {
            Some(chain) => EpochKeys::checked(path, chain, settings, now).map(Some),
            None => Ok(None),
        }
    }

    /// The keys of `chain`, refused when too many of its epochs would be
    /// alive at once or when it is too far behind `now` to walk.
    fn checked(
        path: &Path,
        chain: EpochChain,
        settings: &EpochSettings,
        now: Timestamp,
    ) -> Result<EpochKeys, SecretsError> {
        let schedule = EpochSchedule::new(chain.length_secs(), settings);
        if schedule.live_epochs() > MAX_LIVE_EPOCHS {
            return Err(SecretsError::EpochsTooShort {
                path: path.to_owned(),
                length_secs: chain.length_secs(),
                live: schedule.live_epochs(),
            });
        }
        if schedule.oldest_needed(now).saturating_sub(chain.first()) > MAX_CATCH_UP_EPOCHS {
            return Err(SecretsError::CorruptEpochFile(path.to_owned()));
        }
        Ok(EpochKeys {
            path: path.to_owned(),
            schedule,
            chain: Mutex::new(Chain {
                chain,
                cache: BTreeMap::new(),
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schedule.
    pub fn schedule(&self) -> EpochSchedule {
        self.schedule
    }

    /// The file's epoch length, in seconds.
    pub fn length_secs(&self) -> u32 {
        u32::try_from(self.schedule.length_ms / 1000).unwrap_or(u32::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Chain> {
        // Nothing panics while holding the lock; if something ever did, the
        // chain is still whole.
        self.chain.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first epoch the file still holds.
    pub fn first(&self) -> u64 {
        self.lock().chain.first()
    }

    /// The key of `epoch`, if the chain still holds it.
    pub fn key(&self, epoch: u64) -> Option<Arc<EpochKey>> {
        self.lock().key(epoch)
    }

    /// Seals a new grant's wrapped key in the current epoch (or the chain's
    /// first, should the clock have gone back past it). Returns the epoch
    /// and the sealed bytes.
    pub fn seal(
        &self,
        now: Timestamp,
        grant_storage_hash: &[u8; 32],
        wrapped: &WrappedConversationKey,
    ) -> Option<(u64, Vec<u8>)> {
        let key = {
            let mut chain = self.lock();
            let epoch = self.schedule.epoch_at(now).max(chain.chain.first());
            chain.key(epoch)?
        };
        Some((
            key.epoch(),
            key.seal_grant(&mut OsRng, grant_storage_hash, wrapped),
        ))
    }

    /// Moves the chain past every epoch no live grant can need any more and
    /// writes the file over. Returns the new first epoch when it moved.
    ///
    /// The file is written first and memory follows only once it is on
    /// disk, so a failed write is tried again at the next sweep rather
    /// than left behind. Blocking (file I/O and `fsync`): call it from a
    /// blocking thread.
    pub fn forget_dead(&self, now: Timestamp) -> Result<Option<u64>, SecretsError> {
        let target = self.schedule.oldest_needed(now);
        let mut chain = self.lock();
        if chain.chain.first() >= target {
            return Ok(None);
        }
        // Walked on a copy: the lock is held for the walk and the write,
        // which a redeem may wait for once per epoch.
        let mut next = EpochChain::from_file_bytes(&chain.chain.expose_file_bytes())
            .map_err(|_| SecretsError::CorruptEpochFile(self.path.clone()))?;
        next.forget_before(target);
        overwrite(&self.path, &next.expose_file_bytes())?;
        chain.chain = next;
        chain.cache.retain(|epoch, _| *epoch >= target);
        Ok(Some(target))
    }
}

/// Whether this instance's epoch file is the chain the database knows:
/// the check value recorded for an epoch this file can still derive is this
/// file's, and the newest unexpired grant opens under it (the right file
/// holds every epoch a live grant was sealed in; a stranger's new file
/// starts after them). Nothing recorded and nothing sealed says yes. Check
/// values are one-way: the database learns no key.
pub async fn matches_database(
    store: &Store,
    epochs: &EpochKeys,
    now: Timestamp,
) -> Result<bool, StoreError> {
    if let Some((epoch, value)) = store.epoch_check().await? {
        if epoch >= epochs.first() {
            let same = epochs
                .key(epoch)
                .is_some_and(|key| key.check_value().as_slice() == value.as_slice());
            if !same {
                return Ok(false);
            }
        }
    }
    let Some(grant) = store.newest_live_sealed_grant(now).await? else {
        return Ok(true);
    };
    Ok(epochs
        .key(grant.epoch)
        .is_some_and(|key| key.open_grant(&grant.id_hash, &grant.sealed_key).is_ok()))
}

/// Records the check value of the current epoch (unless a later one is
/// recorded), so that the record stays recent for the next instance that
/// starts.
pub async fn record_in_database(
    store: &Store,
    epochs: &EpochKeys,
    now: Timestamp,
) -> Result<(), StoreError> {
    let current = epochs.schedule().epoch_at(now).max(epochs.first());
    if let Some(key) = epochs.key(current) {
        store
            .record_epoch_check(current, &key.check_value())
            .await?;
    }
    Ok(())
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SecretsError + '_ {
    move |source| SecretsError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read(path: &Path) -> Result<Option<EpochChain>, SecretsError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => zeroize::Zeroizing::new(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    EpochChain::from_file_bytes(&bytes)
        .map(Some)
        .map_err(|_| SecretsError::CorruptEpochFile(path.to_owned()))
}

/// Writes a new file, readable by its owner only; fails if one exists.
fn create(path: &Path, chain: &EpochChain) -> Result<(), SecretsError> {
    crate::secrets::create_owner_only(path, &chain.expose_file_bytes())
}

/// Writes the new chain over the old one, in place and flushed to disk: a
/// new file renamed over the old would leave the old bytes in a freed block.
/// (A copy-on-write or journalling file system, or an SSD, may still keep
/// them somewhere; the README says where to put the file.)
fn overwrite(path: &Path, bytes: &[u8]) -> Result<(), SecretsError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_error(path))?;
    file.seek(SeekFrom::Start(0)).map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.set_len(bytes.len() as u64).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// A new chain starting at the current epoch: no grant is older.
fn new_chain(settings: &EpochSettings, now: Timestamp) -> EpochChain {
    let length = settings.new_length_secs();
    let first = EpochSchedule::new(length, settings).epoch_at(now);
    EpochChain::generate(&mut OsRng, length, first)
}

/// Writes a new epoch file for `latchkey init`.
pub fn init(path: &Path, settings: &EpochSettings) -> Result<(), SecretsError> {
    create(path, &new_chain(settings, Timestamp::now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_core::{ConversationId, ConversationKey, LinkKey};

    const HOUR: Duration = Duration::from_secs(3600);

    fn settings() -> EpochSettings {
        EpochSettings {
            new_length: HOUR,
            link_ttl: 24 * HOUR,
            link_grace: Duration::from_secs(600),
        }
    }

    fn at_hour(hours: i64) -> Timestamp {
        Timestamp::from_ms(hours * 3_600_000)
    }

    #[test]
    fn a_grant_can_be_opened_for_its_whole_life_and_not_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.epoch");
        let start = at_hour(500_000);
        let (keys, created) = EpochKeys::open_or_create(&path, &settings(), start, true).unwrap();
        assert!(created);
        let link = LinkKey::generate(&mut OsRng);
        let conversation = ConversationId::generate(&mut OsRng);
        let wrapped = link.wrap(
            &mut OsRng,
            &conversation,
            &ConversationKey::generate(&mut OsRng),
        );
        let hash = link.grant_id().storage_hash();
        let made = start.plus_ms(59 * 60 * 1000); // the end of its epoch
        let (epoch, sealed) = keys.seal(made, &hash, &wrapped).unwrap();
        assert_eq!(epoch, 500_000);

        // Its last moment (made + ttl + grace): still there, after a sweep
        // and after a restart.
        let last = made.plus_ms(24 * 3_600_000 + 600_000);
        keys.forget_dead(last).unwrap();
        let (reopened, created) =
            EpochKeys::open_or_create(&path, &settings(), last, false).unwrap();
        assert!(!created);
        let key = reopened.key(epoch).unwrap();
        assert_eq!(key.open_grant(&hash, &sealed).unwrap(), wrapped);

        // Once the last grant its epoch could hold is dead (and one more
        // epoch of slack has passed): gone from memory and from the file.
        let dead = start.plus_ms(3_600_000 + 24 * 3_600_000 + 600_000 + 3_600_000);
        reopened.forget_dead(dead.minus_ms(1)).unwrap();
        assert!(reopened.key(epoch).is_some());
        assert_eq!(reopened.forget_dead(dead).unwrap(), Some(epoch + 1));
        assert!(reopened.key(epoch).is_none());
        let file = std::fs::read(&path).unwrap();
        let chain = EpochChain::from_file_bytes(&file).unwrap();
        assert!(chain.key(epoch).is_none());
        // Nothing to do the second time.
        assert_eq!(reopened.forget_dead(dead).unwrap(), None);
    }

    #[test]
    fn the_file_is_owner_only_and_refused_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/latchkey.epoch");
        init(&path, &settings()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            init(&path, &settings()),
            Err(SecretsError::Exists(_))
        ));
        std::fs::write(&path, b"not an epoch file").unwrap();
        let err =
            EpochKeys::open_or_create(&path, &settings(), Timestamp::now(), true).unwrap_err();
        assert!(matches!(err, SecretsError::CorruptEpochFile(_)), "{err}");
        // Missing, where a database has seen one: not made anew.
        std::fs::remove_file(&path).unwrap();
        let err =
            EpochKeys::open_or_create(&path, &settings(), Timestamp::now(), false).unwrap_err();
        assert!(matches!(err, SecretsError::MissingEpochFile(_)), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn a_file_keeps_its_epoch_length_and_refuses_too_many_live_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.epoch");
        init(&path, &settings()).unwrap();
        // Later configured with one-minute epochs: the file's hour stands.
        let minutes = EpochSettings {
            new_length: Duration::from_secs(60),
            ..settings()
        };
        let (keys, _) =
            EpochKeys::open_or_create(&path, &minutes, Timestamp::now(), false).unwrap();
        assert_eq!(keys.length_secs(), 3600);
        // A one-second file with week-long links would walk 600,000 epochs.
        let seconds = dir.path().join("seconds.epoch");
        let week = EpochSettings {
            new_length: Duration::from_secs(1),
            link_ttl: 7 * 24 * HOUR,
            ..settings()
        };
        let err = EpochKeys::open_or_create(&seconds, &week, Timestamp::now(), true).unwrap_err();
        assert!(matches!(err, SecretsError::EpochsTooShort { .. }), "{err}");
    }

    #[test]
    fn read_only_opening_checks_the_file_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.epoch");
        assert!(EpochKeys::open_read_only(&path, &settings(), at_hour(1000))
            .unwrap()
            .is_none());
        assert!(!path.exists());
        EpochKeys::open_or_create(&path, &settings(), at_hour(1000), true).unwrap();
        let before = std::fs::read(&path).unwrap();
        // A week later every epoch in it is dead: open_or_create would move
        // the chain on and rewrite the file; this leaves it as it is.
        let keys = EpochKeys::open_read_only(&path, &settings(), at_hour(1000 + 7 * 24))
            .unwrap()
            .unwrap();
        assert_eq!(keys.first(), 1000);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        std::fs::write(&path, b"not an epoch file").unwrap();
        let err = EpochKeys::open_read_only(&path, &settings(), at_hour(1000)).unwrap_err();
        assert!(matches!(err, SecretsError::CorruptEpochFile(_)), "{err}");
    }

    #[test]
    fn a_clock_gone_back_seals_in_the_first_epoch_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.epoch");
        let (keys, _) = EpochKeys::open_or_create(&path, &settings(), at_hour(1000), true).unwrap();
        let first = keys.first();
        let link = LinkKey::generate(&mut OsRng);
        let wrapped = link.wrap(
            &mut OsRng,
            &ConversationId::generate(&mut OsRng),
            &ConversationKey::generate(&mut OsRng),
        );
        let (epoch, _) = keys
            .seal(at_hour(10), &link.grant_id().storage_hash(), &wrapped)
            .unwrap();
        assert_eq!(epoch, first);
    }
}
