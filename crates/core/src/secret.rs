//! Fixed-size secret byte strings.
//!
//! Every secret type in this crate is made by [`secret_bytes!`]: zeroized on
//! drop, not `Clone`, not `Serialize`, and its `Debug` prints `***`. Getting the
//! bytes out takes a method whose name starts with `expose_`, so a leak is
//! visible in review.

/// Declares a secret newtype over `[u8; N]`.
macro_rules! secret_bytes {
    ($(#[$meta:meta])* $vis:vis struct $name:ident([u8; $len:expr]);) => {
        $(#[$meta])*
        #[derive(zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
        $vis struct $name(pub(crate) [u8; $len]);

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }

        impl PartialEq for $name {
            /// Constant-time comparison.
            fn eq(&self, other: &Self) -> bool {
                subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
            }
        }
        impl Eq for $name {}
    };
}

pub(crate) use secret_bytes;
