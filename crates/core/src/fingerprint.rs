//! Key fingerprints: 80 bits, printed as four groups of four Crockford base32
//! characters, e.g. `7KQ3 M2XD 9FJA 0WCE`. Short enough to read aloud over the
//! phone; 2^80 work to find another key with the same fingerprint.

use core::fmt;

use sha2::{Digest, Sha256};

use crate::encoding::base32_encode;
use crate::kdf::FINGERPRINT;
use crate::IdentityPublic;

/// The fingerprint of a member's [`IdentityPublic`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Fingerprint([u8; 10]);

impl Fingerprint {
    /// `SHA-256("latchkey/v1/fingerprint" || public key)`, first 10 bytes.
    pub(crate) fn of(key: &IdentityPublic) -> Self {
        let digest = Sha256::new()
            .chain_update(FINGERPRINT.as_bytes())
            .chain_update(key.as_bytes())
            .finalize();
        let mut out = [0u8; 10];
        for (o, d) in out.iter_mut().zip(digest.iter()) {
            *o = *d;
        }
        Fingerprint(out)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = base32_encode(&self.0);
        for (i, group) in text.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(core::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}
