//! The link's two faces on the wire: the grant id a browser shows to redeem
//! (a bearer credential, only its hash is stored) and the link fragment a
//! member's client hands over for the server to e-mail. Both are secrets:
//! zeroized, `Debug` prints `***`, no `Clone`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{field_error, ErrorCode};
use crate::schema::string_schema;

// The last of 43 base64url characters of 32 bytes carries four bits that
// must be zero: only 16 characters can end a canonical encoding.
#[cfg_attr(not(feature = "openapi"), allow(dead_code))]
const GRANT_ID_PATTERN: &str = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$";
#[cfg_attr(not(feature = "openapi"), allow(dead_code))]
const LINK_PATTERN: &str = "^k1\\.[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$";

/// A grant id: 32 bytes derived from a link key.
#[derive(Debug, PartialEq, Eq)]
pub struct GrantId(pub latchkey_core::GrantId);

impl Serialize for GrantId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.expose_base64url())
    }
}

impl<'de> Deserialize<'de> for GrantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = zeroize::Zeroizing::new(String::deserialize(d)?);
        latchkey_core::GrantId::parse_base64url(&text)
            .map(GrantId)
            .map_err(|e| field_error(ErrorCode::InvalidGrantId, &e.to_string()))
    }
}

string_schema!(
    GrantId,
    description: "A grant id: 32 bytes derived from the link key, as 43 characters of canonical base64url. Sent in bodies only, never in URLs.",
    pattern: Some(GRANT_ID_PATTERN),
    min: None,
    max: None
);

/// A link's fragment `k1.<43 characters>`: the link key itself. The server
/// sees it only when asked to e-mail the link.
#[derive(Debug, PartialEq, Eq)]
pub struct LinkFragment(pub latchkey_core::LinkKey);

impl Serialize for LinkFragment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.expose_fragment())
    }
}

impl<'de> Deserialize<'de> for LinkFragment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = zeroize::Zeroizing::new(String::deserialize(d)?);
        latchkey_core::LinkKey::parse_fragment(&text)
            .map(LinkFragment)
            .map_err(|e| {
                field_error(
                    ErrorCode::InvalidLink,
                    &format!("The link is not valid: {e}."),
                )
            })
    }
}

string_schema!(
    LinkFragment,
    description: "A link's fragment: 'k1.' and the 32-byte link key as 43 characters of canonical base64url.",
    pattern: Some(LINK_PATTERN),
    min: None,
    max: None
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use latchkey_core::{LinkKey, OsRng};

    #[test]
    fn a_link_and_its_grant_id_round_trip() {
        let key = LinkKey::generate(&mut OsRng);
        let json = serde_json::to_string(&LinkFragment(
            LinkKey::parse_fragment(&key.expose_fragment()).unwrap(),
        ))
        .unwrap();
        let back: LinkFragment = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, key);
        let id = GrantId(key.grant_id());
        let back: GrantId = serde_json::from_str(&serde_json::to_string(&id).unwrap()).unwrap();
        assert_eq!(back.0, key.grant_id());
        assert_eq!(format!("{back:?}"), "GrantId(GrantId(***))");
    }

    #[test]
    fn a_bad_link_names_its_code() {
        let err = serde_json::from_str::<LinkFragment>("\"k2.AAAA\"")
            .unwrap_err()
            .to_string();
        assert_eq!(
            crate::tagged_field_error(&err).unwrap().0,
            ErrorCode::InvalidLink
        );
        let err = serde_json::from_str::<GrantId>("\"short\"")
            .unwrap_err()
            .to_string();
        assert_eq!(
            crate::tagged_field_error(&err).unwrap().0,
            ErrorCode::InvalidGrantId
        );
    }
}
