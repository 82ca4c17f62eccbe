//! Webhook endpoints of the site's backend (`/admin/webhooks`, scope
//! `webhooks:manage`): where the server POSTs its metadata-only events,
//! signed as the Standard Webhooks specification says (docs/webhooks.md).

use crate::wire::bodies;

bodies! {
    /// Add a webhook endpoint.
    pub struct AddWebhook {
        /// Where events are POSTed: `https://…`, or `http://` to a loopback address (tests). No user name, password or fragment.
        #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 2000))]
        pub url: String,
    }

    /// A webhook endpoint and how its delivery goes.
    pub struct WebhookView {
        /// Its id (32 hex digits); its secret is derived from it.
        #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
        pub id: String,
        pub url: String,
        /// When it was added, milliseconds since the Unix epoch.
        pub created_at: i64,
        /// The sequence number of the last event it acknowledged.
        pub delivered_through: i64,
        /// Failed attempts at the next event (0: none failed).
        pub failed_attempts: i64,
        /// The last failure's class (`http_500`, `timeout`, `connect`, …), never what the receiver answered; absent while deliveries succeed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub last_error: Option<String>,
        /// After a failure: not retried before this, milliseconds since the Unix epoch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub next_attempt_at: Option<i64>,
    }

    /// Every webhook endpoint, oldest first.
    pub struct WebhookList {
        pub webhooks: Vec<WebhookView>,
    }

    /// A new endpoint, with its secret: shown this once, stored nowhere.
    pub struct WebhookAdded {
        pub webhook: WebhookView,
        /// The signing secret, `whsec_` and base64: give it to the receiver's Standard Webhooks library. A secret.
        pub secret: String,
    }
}
