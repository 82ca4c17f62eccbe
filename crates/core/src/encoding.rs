//! Byte-level helpers shared by every format: a bounds-checked reader, the
//! version byte, and Crockford base32 for the strings people read aloud.

use crate::{Error, PROTOCOL_VERSION};

/// Reads a blob front to back; every read is bounds-checked and a short blob
/// becomes [`Error::Malformed`], never a panic.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { rest: bytes, what }
    }

    fn truncated(&self) -> Error {
        Error::Malformed {
            what: self.what,
            reason: "truncated",
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.rest.len() < n {
            return Err(self.truncated());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// The first byte must be the protocol version.
    pub(crate) fn version(&mut self) -> Result<(), Error> {
        let found = self.u8().map_err(|_| Error::Malformed {
            what: self.what,
            reason: "empty",
        })?;
        if found != PROTOCOL_VERSION {
            return Err(Error::UnsupportedVersion {
                what: self.what,
                found,
            });
        }
        Ok(())
    }

    pub(crate) fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// Checks the version byte, then the exact length, of a fixed-size blob.
pub(crate) fn check_blob(bytes: &[u8], what: &'static str, len: usize) -> Result<(), Error> {
    let mut reader = Reader::new(bytes, what);
    reader.version()?;
    if bytes.len() != len {
        return Err(Error::Malformed {
            what,
            reason: if bytes.len() < len {
                "truncated"
            } else {
                "trailing bytes"
            },
        });
    }
    Ok(())
}

/// Associated data for one purpose: `label || 0x00 || version || fields…`.
/// Labels are distinct and the fields after them have a fixed layout per
/// label, so no two purposes can produce the same associated data.
pub(crate) fn associated_data(label: &str, fields: &[&[u8]]) -> Vec<u8> {
    let len = label.len() + 2 + fields.iter().map(|f| f.len()).sum::<usize>();
    let mut ad = Vec::with_capacity(len);
    ad.extend_from_slice(label.as_bytes());
    ad.push(0);
    ad.push(PROTOCOL_VERSION);
    for field in fields {
        ad.extend_from_slice(field);
    }
    ad
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Crockford base32 without padding; `bytes.len() * 8` must be a multiple of 5
/// for the output to carry no spare bits (true for the 10- and 20-byte values
/// this crate encodes).
#[allow(clippy::indexing_slicing)] // every index is masked to 0..32
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(CROCKFORD[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(CROCKFORD[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes Crockford base32 into exactly `N` bytes. Accepts lower case and the
/// look-alikes Crockford allows (`O`→0, `I`/`L`→1); rejects anything else.
pub(crate) fn base32_decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() * 5 != N * 8 {
        return None;
    }
    let mut out = [0u8; N];
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut i = 0usize;
    for c in text.bytes() {
        let v = match c.to_ascii_uppercase() {
            b'O' => 0,
            b'I' | b'L' => 1,
            up => CROCKFORD.iter().position(|&x| x == up)? as u32,
        };
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(i)? = (acc >> bits) as u8;
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trip_and_aliases() {
        let bytes = [0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
        let text = base32_encode(&bytes);
        assert_eq!(text.len(), 16);
        assert_eq!(base32_decode::<10>(&text), Some(bytes));
        assert_eq!(base32_decode::<10>(&text.to_lowercase()), Some(bytes));
        let zeros = "O".repeat(16);
        assert_eq!(base32_decode::<10>(&zeros), Some([0u8; 10]));
        assert_eq!(base32_decode::<10>("U000000000000000"), None);
        assert_eq!(base32_decode::<10>("000"), None);
    }

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3], "test");
        assert!(r.u16().is_ok());
        assert_eq!(
            r.u16(),
            Err(Error::Malformed {
                what: "test",
                reason: "truncated"
            })
        );
    }
}
