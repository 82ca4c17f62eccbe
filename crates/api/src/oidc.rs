//! Signing in with the site's accounts (OpenID Connect) and the sign-in
//! methods a server offers.

use crate::wire::bodies;

bodies! {
    /// The ways of signing in this server offers, for the sign-in page.
    pub struct AuthMethods {
        /// Whether handle-and-password accounts are open (registration and password sign-in).
        pub local_passwords: bool,
        /// The site's name for the "Sign in with …" button, when signing in with the site's accounts is set up; absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub oidc: Option<String>,
    }

}
