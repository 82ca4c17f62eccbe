//! The latchkey server: a JSON API over HTTP, storage on SQLite or
//! PostgreSQL, an outbox worker that sends e-mail. It stores ciphertexts
//! made by clients and never holds a key that decrypts a message; the one
//! exception is a link key, sealed in the outbox until its e-mail is handed
//! to the relay.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod config;
pub mod doctor;
pub mod domain;
pub mod epochs;
pub mod http;
pub mod i18n;
pub mod live;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod random;
pub mod ratelimit;
pub mod secrets;
pub mod store;
pub mod time;
pub mod webhooks;
pub mod worker;

pub use app::{App, StartError};
pub use config::Config;
