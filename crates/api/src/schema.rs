//! The schema and TypeScript type of a string newtype, declared once next to
//! its parse rule so the document says exactly what `parse` accepts.

/// Implements `utoipa::ToSchema` (feature `openapi`) and `ts_rs::TS`
/// (feature `typescript`, as a `string` alias) for a string newtype.
macro_rules! string_schema {
    ($ty:ident, description: $description:expr, pattern: $pattern:expr, min: $min:expr, max: $max:expr) => {
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    .pattern($pattern)
                    .min_length($min)
                    .max_length($max)
                    .build()
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $ty {}

        #[cfg(feature = "typescript")]
        impl ts_rs::TS for $ty {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;

            fn docs() -> Option<String> {
                Some($description.to_owned())
            }

            fn decl(_: &ts_rs::Config) -> String {
                format!("type {} = string;", stringify!($ty))
            }

            fn decl_concrete(cfg: &ts_rs::Config) -> String {
                Self::decl(cfg)
            }

            fn name(_: &ts_rs::Config) -> String {
                stringify!($ty).to_owned()
            }

            fn inline(_: &ts_rs::Config) -> String {
                "string".to_owned()
            }
        }
    };
}

pub(crate) use string_schema;
