//! Bytes on the wire: unpadded base64url, as in links.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::schema::string_schema;

/// Canonical unpadded base64url: whole groups of four, then two or three
/// characters whose unused low bits are zero (what the decoder accepts).
#[cfg_attr(not(feature = "openapi"), allow(dead_code))]
pub(crate) const BASE64URL_PATTERN: &str =
    "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$";

/// Opaque bytes (ciphertexts, sealed keys, OPAQUE messages) as unpadded
/// base64url.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct B64(pub Vec<u8>);

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Base64UrlUnpadded::encode_string(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Base64UrlUnpadded::decode_vec(&text)
            .map(B64)
            .map_err(|_| serde::de::Error::custom("not unpadded base64url"))
    }
}

impl From<Vec<u8>> for B64 {
    fn from(bytes: Vec<u8>) -> Self {
        B64(bytes)
    }
}

string_schema!(
    B64,
    description: "Bytes as unpadded base64url (A-Z a-z 0-9 - _, no '=').",
    pattern: Some(BASE64URL_PATTERN),
    min: None,
    max: None
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    proptest::proptest! {
        #[test]
        fn bytes_round_trip_as_base64url(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let json = serde_json::to_string(&B64(bytes.clone())).unwrap();
            let back: B64 = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(back.0, bytes);
        }
    }
}
