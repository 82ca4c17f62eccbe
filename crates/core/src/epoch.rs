//! Epoch keys: the server's second lock on every stored grant, kept outside
//! the database and erased on a schedule.
//!
//! A grant row holds the conversation key wrapped under the link key. Deleting
//! the row after its grace window does not delete its old copies: a database
//! log (PostgreSQL's WAL, SQLite's `-wal`), a replica or a backup still holds
//! it, and the link key sits in an old e-mail. So the server seals each
//! wrapped key once more, under the key of the epoch (a span of time) the
//! grant was made in, and opens that layer at redeem. The epoch keys form a
//! one-way chain, `chain(e + 1) = HKDF(chain(e), "…/epoch-next")`, kept in a
//! small file beside the secrets file: the server keeps only the oldest chain
//! key that a live grant can still need and derives the later ones. Once it
//! has moved past an epoch, no copy of the file made from then on (and no
//! copy of the database, ever) can open that epoch's grants.
//!
//! Several instances share the chain by copying the file once: each moves it
//! forward on its own, by the clock, to the same keys.

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::encoding::{associated_data, Reader};
use crate::kdf::derive32;
use crate::link::WrappedConversationKey;
use crate::secret::secret_bytes;
use crate::{aead, Error};

const NEXT: &str = "latchkey/v1/server/epoch-next";
const GRANT_KEY: &str = "latchkey/v1/server/epoch-grant";
const CHECK: &str = "latchkey/v1/server/epoch-check";
const AD_GRANT: &str = "latchkey/v1/field/epoch-grant";
const SEALED_WHAT: &str = "epoch-sealed grant";
const FILE_WHAT: &str = "epoch key file";

/// The epoch file's length: version, epoch length, first epoch, chain key.
pub const EPOCH_FILE_LEN: usize = 1 + 4 + 8 + 32;

/// A sealed grant's length: version, nonce, the 73-byte wrapped key, tag.
pub const EPOCH_SEALED_LEN: usize = 1 + aead::NONCE_LEN + 73 + aead::TAG_LEN;

/// How far past the chain's start [`EpochChain::key`] derives. Epoch numbers
/// come from the clock and from database rows; a corrupt one must not keep
/// the server hashing for hours. With one-hour epochs this is 11 years.
pub const MAX_EPOCHS_AHEAD: u64 = 100_000;

secret_bytes! {
    /// One link of the chain.
    struct ChainKey([u8; 32]);
}

secret_bytes! {
    /// The key that seals one epoch's grants.
    struct GrantKey([u8; 32]);
}

impl ChainKey {
    fn next(&self) -> ChainKey {
        ChainKey(*derive32(&self.0, NEXT))
    }
}

/// The chain as the epoch file holds it: the length of its epochs, its
/// first epoch and that epoch's chain key. Every earlier epoch is gone for
/// good. Epoch `e` is the span of time from `e · length` to
/// `(e + 1) · length` seconds after 1970; the length belongs to the chain,
/// since the same number means another span under another length.
#[derive(Debug)]
pub struct EpochChain {
    length_secs: u32,
    first: u64,
    chain: ChainKey,
}

impl EpochChain {
    /// A new chain of epochs `length_secs` long (at least 1), starting at
    /// `first` (the current epoch), made once by `latchkey init`.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore), length_secs: u32, first: u64) -> Self {
        let mut chain = ChainKey([0u8; 32]);
        rng.fill_bytes(&mut chain.0);
        EpochChain {
            length_secs: length_secs.max(1),
            first,
            chain,
        }
    }

    /// How long each epoch lasts, in seconds (at least 1).
    pub fn length_secs(&self) -> u32 {
        self.length_secs
    }

    /// The oldest epoch this chain can still open.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// Erases every epoch before `epoch`: afterwards neither this value nor
    /// its file bytes can derive their keys. Does nothing if the chain
    /// already starts there or later.
    pub fn forget_before(&mut self, epoch: u64) {
        while self.first < epoch {
            self.chain = self.chain.next();
            self.first += 1;
        }
    }

    /// The key of `epoch`, or `None` if it was forgotten or lies more than
    /// [`MAX_EPOCHS_AHEAD`] past the chain's start.
    pub fn key(&self, epoch: u64) -> Option<EpochKey> {
        let steps = epoch.checked_sub(self.first)?;
        if steps > MAX_EPOCHS_AHEAD {
            return None;
        }
        let mut chain = ChainKey(self.chain.0);
        for _ in 0..steps {
            chain = chain.next();
        }
        Some(EpochKey {
            epoch,
            grant: GrantKey(*derive32(&chain.0, GRANT_KEY)),
            check: *derive32(&chain.0, CHECK),
        })
    }

    /// The file's bytes: `0x01 || length (u32, seconds) || first (u64) ||
    /// chain key (32)`. Secret: write with mode 0600, over the previous
    /// bytes.
    pub fn expose_file_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(EPOCH_FILE_LEN));
        out.push(crate::PROTOCOL_VERSION);
        out.extend_from_slice(&self.length_secs.to_be_bytes());
        out.extend_from_slice(&self.first.to_be_bytes());
        out.extend_from_slice(&self.chain.0);
        out
    }

    /// Reads the file's bytes, exactly [`EPOCH_FILE_LEN`] of them.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, FILE_WHAT);
        reader.version()?;
        let length_secs = reader.u32()?;
        if length_secs == 0 {
            return Err(Error::Malformed {
                what: FILE_WHAT,
                reason: "epochs of zero seconds",
            });
        }
        let first = reader.u64()?;
        let chain = ChainKey(reader.array()?);
        if !reader.rest().is_empty() {
            return Err(Error::Malformed {
                what: FILE_WHAT,
                reason: "trailing bytes",
            });
        }
        Ok(EpochChain {
            length_secs,
            first,
            chain,
        })
    }
}

/// One epoch's keys: the grant-sealing key and a check value.
#[derive(Debug)]
pub struct EpochKey {
    epoch: u64,
    grant: GrantKey,
    check: [u8; 32],
}

impl EpochKey {
    /// The epoch this key belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// `HKDF(chain(e), "latchkey/v1/server/epoch-check")`: one-way, so it
    /// may be stored in the database, where instances compare it to find a
    /// file that is not the others' chain.
    pub fn check_value(&self) -> [u8; 32] {
        self.check
    }

    /// Seals a grant's wrapped key, bound to this epoch and to the grant's
    /// storage hash (so a sealed key moved to another row does not open).
    pub fn seal_grant(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        grant_storage_hash: &[u8; 32],
        wrapped: &WrappedConversationKey,
    ) -> Vec<u8> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        self.seal_grant_with_nonce(&nonce, grant_storage_hash, wrapped)
    }

    pub(crate) fn seal_grant_with_nonce(
        &self,
        nonce: &[u8; aead::NONCE_LEN],
        grant_storage_hash: &[u8; 32],
        wrapped: &WrappedConversationKey,
    ) -> Vec<u8> {
        aead::seal_with_nonce(
            &self.grant.0,
            nonce,
            &self.ad(grant_storage_hash),
            wrapped.as_bytes(),
        )
    }

    /// Opens what [`EpochKey::seal_grant`] made for the same grant.
    pub fn open_grant(
        &self,
        grant_storage_hash: &[u8; 32],
        sealed: &[u8],
    ) -> Result<WrappedConversationKey, Error> {
        let inner = aead::open(
            &self.grant.0,
            SEALED_WHAT,
            &self.ad(grant_storage_hash),
            sealed,
        )?;
        // The tag held, so these are the bytes that were sealed: a checked
        // wrapped key. Checked again all the same.
        WrappedConversationKey::from_bytes(inner.to_vec())
    }

    fn ad(&self, grant_storage_hash: &[u8; 32]) -> Vec<u8> {
        associated_data(AD_GRANT, &[&self.epoch.to_be_bytes(), grant_storage_hash])
    }

    #[cfg(feature = "testkit")]
    pub(crate) fn expose_grant_key_for_testkit(&self) -> &[u8; 32] {
        &self.grant.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConversationId, ConversationKey, LinkKey};
    use rand_core::OsRng;

    fn wrapped() -> (
        LinkKey,
        ConversationId,
        ConversationKey,
        WrappedConversationKey,
    ) {
        let link = LinkKey::generate(&mut OsRng);
        let conversation = ConversationId::generate(&mut OsRng);
        let key = ConversationKey::generate(&mut OsRng);
        let wrapped = link.wrap(&mut OsRng, &conversation, &key);
        (link, conversation, key, wrapped)
    }

    #[test]
    fn a_sealed_grant_opens_with_its_epoch_and_hash_only() {
        let chain = EpochChain::generate(&mut OsRng, 3600, 1000);
        let (link, conversation, key, wrapped) = wrapped();
        let hash = link.grant_id().storage_hash();
        let epoch = chain.key(1003).unwrap();
        let sealed = epoch.seal_grant(&mut OsRng, &hash, &wrapped);
        assert_eq!(sealed.len(), EPOCH_SEALED_LEN);
        let opened = chain.key(1003).unwrap().open_grant(&hash, &sealed).unwrap();
        assert_eq!(link.unwrap(&conversation, &opened).unwrap(), key);
        // Another epoch, another grant, a flipped bit: nothing opens.
        assert!(chain.key(1004).unwrap().open_grant(&hash, &sealed).is_err());
        assert!(epoch.open_grant(&[7u8; 32], &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[40] ^= 1;
        assert!(epoch.open_grant(&hash, &flipped).is_err());
        // The wrapped key is not in the sealed bytes.
        assert!(!sealed.windows(73).any(|w| w == wrapped.as_bytes()));
    }

    #[test]
    fn forgotten_epochs_cannot_be_derived_again() {
        let mut chain = EpochChain::generate(&mut OsRng, 3600, 10);
        let (link, _, _, wrapped) = wrapped();
        let hash = link.grant_id().storage_hash();
        let sealed_12 = chain
            .key(12)
            .unwrap()
            .seal_grant(&mut OsRng, &hash, &wrapped);
        let check_12 = chain.key(12).unwrap().check_value();
        chain.forget_before(11);
        assert_eq!(chain.first(), 11);
        assert!(chain.key(10).is_none());
        // Later epochs are the same keys as before.
        let key_12 = chain.key(12).unwrap();
        assert!(key_12.open_grant(&hash, &sealed_12).is_ok());
        assert_eq!(key_12.check_value(), check_12);
        // Forgetting backwards does nothing.
        chain.forget_before(5);
        assert_eq!(chain.first(), 11);
        // The file round-trips, and the old epoch stays gone from it too.
        let reread = EpochChain::from_file_bytes(&chain.expose_file_bytes()).unwrap();
        assert_eq!(reread.first(), 11);
        assert!(reread.key(10).is_none());
        assert!(reread
            .key(12)
            .unwrap()
            .open_grant(&hash, &sealed_12)
            .is_ok());
    }

    #[test]
    fn epochs_far_ahead_are_refused() {
        let chain = EpochChain::generate(&mut OsRng, 3600, 0);
        assert!(chain.key(MAX_EPOCHS_AHEAD).is_some());
        assert!(chain.key(MAX_EPOCHS_AHEAD + 1).is_none());
        assert!(chain.key(u64::MAX).is_none());
    }

    #[test]
    fn bad_files_are_refused() {
        let good = EpochChain::generate(&mut OsRng, 3600, 3).expose_file_bytes();
        assert!(EpochChain::from_file_bytes(&good).is_ok());
        assert!(EpochChain::from_file_bytes(&[]).is_err());
        assert!(EpochChain::from_file_bytes(&good[..EPOCH_FILE_LEN - 1]).is_err());
        let mut long = good.to_vec();
        long.push(0);
        assert!(EpochChain::from_file_bytes(&long).is_err());
        let mut zero_length = good.to_vec();
        zero_length[1..5].fill(0);
        assert!(EpochChain::from_file_bytes(&zero_length).is_err());
        let mut version = good.to_vec();
        version[0] = 2;
        assert_eq!(
            EpochChain::from_file_bytes(&version).unwrap_err().code(),
            "unsupported_version"
        );
    }
}
