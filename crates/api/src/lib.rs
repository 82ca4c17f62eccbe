//! The wire contract of latchkey's HTTP API (`/api/v1`): every request and
//! response body, the ids, bytes and text fields with their one parse rule,
//! the error codes, and the table of operations. The server and the Rust
//! client both use these types, and the OpenAPI document
//! (`crates/api/openapi.json`, served at `/api/v1/openapi.json`) and the
//! TypeScript types of the web pages (`web/src/common/api-types.ts`) are
//! generated from them; a test checks that what is committed is what the
//! generator makes.
//!
//! Features: `openapi` (utoipa schemas and [`openapi::document`]),
//! `typescript` (ts-rs declarations and [`typescript::declarations`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod admin;
mod bytes;
mod conversations;
pub mod endpoints;
mod error;
mod fields;
mod ids;
mod link;
mod links;
mod live;
mod members;
mod oidc;
mod passkeys;
mod schema;
mod webhooks;
mod wire;

#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(feature = "typescript")]
pub mod typescript;

pub use admin::{
    AdminMember, AdminMemberList, EnrollPeek, Enrollment, InviteRequest, Invited, MemberStatus,
};
pub use bytes::B64;
pub use conversations::{
    AddGrant, ConversationAnswer, ConversationPage, ConversationView, GrantAdded, GrantInput,
    GuestConversationView, ListQuery, MessageInput, MessagePage, MessageView, MessagesQuery,
    Notification, PostMessage, PostedView, ReadMark, ReadReceipts, Sender, StartConversation,
    Started,
};
pub use endpoints::Endpoint;
pub use error::{tagged_field_error, ErrorBody, ErrorCode};
pub use fields::{DisplayName, Email, FieldError, Handle};
pub use ids::{ConversationId, LoginId, MessageId};
pub use link::{GrantId, LinkFragment};
pub use links::{
    GrantRef, Health, LinkRequest, LinkRequested, Peeked, RedeemRequest, RedeemedView,
};
pub use live::LiveEventData;
pub use members::{
    LoginFinish, LoginStart, LoginStarted, MemberView, NewRecovery, OpaqueResponse, PasswordFinish,
    PasswordStart, ProfileUpdate, PublicMember, RecoverFinish, RecoverStart, RecoverStarted,
    RegisterFinish, RegisterStart, RegisterStarted,
};
pub use oidc::AuthMethods;
pub use webhooks::{AddWebhook, WebhookAdded, WebhookList, WebhookView};

pub use passkeys::{
    AddPasskey, EnrollPasskey, EnrollStart, EnrollStarted, PasskeyCopy, PasskeyList,
    PasskeyLoginFinish, PasskeyLoginStart, PasskeyLoginStarted, PasskeyView,
};

/// The committed OpenAPI document, as the server serves it.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// The base path every operation's path is under.
pub const BASE_PATH: &str = "/api/v1";
