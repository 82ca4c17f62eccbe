//! Derives shared by every body type, in one place.

/// Declares request and response bodies: serde (unknown fields refused),
/// and, with the features, their OpenAPI schema and TypeScript type. A
/// field whose type says it all (a handle, an id) goes without a doc
/// comment; the others' comments become the document's descriptions.
macro_rules! bodies {
    ($($(#[$meta:meta])* pub struct $name:ident $body:tt)*) => {
        $(
            $(#[$meta])*
            #[allow(missing_docs)]
            #[derive(Debug, serde::Serialize, serde::Deserialize)]
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
            #[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
            #[serde(deny_unknown_fields)]
            pub struct $name $body
        )*
    };
}

/// Declares string enums on the wire (`snake_case` values).
macro_rules! wire_enums {
    ($($(#[$meta:meta])* pub enum $name:ident $body:tt)*) => {
        $(
            $(#[$meta])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
            #[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
            #[serde(rename_all = "snake_case")]
            pub enum $name $body
        )*
    };
}

pub(crate) use {bodies, wire_enums};
