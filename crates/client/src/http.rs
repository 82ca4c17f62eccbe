//! HTTP plumbing: every call goes through an operation of the contract's
//! table (`latchkey_api::endpoints`), which says its method, its path and
//! where its input goes.

use std::sync::Arc;

use latchkey_api::endpoints::Method;
use latchkey_api::{Endpoint, ErrorBody, BASE_PATH};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{ClientError, ServerUrl};

/// One answer of the server, as received, before the client reads it.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// The operation called.
    pub endpoint: &'static Endpoint,
    /// Its path as sent (parameters filled in, without the query).
    pub path: &'a str,
    /// The HTTP status.
    pub status: u16,
    /// The body's bytes (empty for 204).
    pub body: &'a [u8],
}

/// Sees every [`Exchange`]; see [`ServerUrl::with_observer`].
pub type Observer = Arc<dyn Fn(&Exchange<'_>) + Send + Sync>;

/// One HTTP session: base address, cookie jar, and the `Origin` header the
/// server expects on cookie-authenticated writes.
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: url::Url,
    origin: String,
    observer: Option<Observer>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

fn method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

impl Http {
    pub fn new(server: &ServerUrl) -> Result<Http, ClientError> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(language) = &server.language {
            let value = reqwest::header::HeaderValue::from_str(language)
                .map_err(|e| ClientError::Usage(format!("language {language:?}: {e}")))?;
            headers.insert(reqwest::header::ACCEPT_LANGUAGE, value);
        }
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Http {
            client,
            origin: server.url.origin().ascii_serialization(),
            base: server.url.clone(),
            observer: server.observer.clone(),
        })
    }

    /// Calls `endpoint` with its `{name}` path parameters filled from
    /// `params`. `input` goes where the operation takes it: the JSON body
    /// if it has one, else the query string if it has one; operations
    /// with neither take `&()`. A success answer is read as `T` (`()` for
    /// 204); an error answer becomes [`ClientError::Api`].
    pub async fn call<I, T>(
        &self,
        endpoint: &'static Endpoint,
        params: &[(&str, &str)],
        input: &I,
    ) -> Result<T, ClientError>
    where
        I: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let path = endpoint.path_with(params);
        let url = self
            .base
            .join(&format!("{}{path}", BASE_PATH.trim_start_matches('/')))
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        let mut request = self.client.request(method(endpoint.method), url);
        if endpoint.method != Method::Get {
            request = request.header(reqwest::header::ORIGIN, &self.origin);
        }
        if endpoint.request.is_some() {
            request = request.json(input);
        } else if endpoint.query.is_some() {
            request = request.query(input);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        if let Some(observe) = &self.observer {
            observe(&Exchange {
                endpoint,
                path: &path,
                status,
                body: &bytes,
            });
        }
        if (200..300).contains(&status) {
            let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(body).map_err(|e| {
                ClientError::Protocol(format!(
                    "unexpected answer to {}: {e}",
                    endpoint.operation_id
                ))
            });
        }
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => ClientError::Api {
                status,
                code: body.error,
                message: body.message,
            },
            Err(_) => ClientError::Api {
                status,
                code: "unreadable".into(),
                message: String::from_utf8_lossy(&bytes).into_owned(),
            },
        })
    }

    /// Opens a `text/event-stream` operation (`GET /events`), sending
    /// `Last-Event-ID` when given: the answer as received, its body unread
    /// (read it with `chunk`). An error answer is not mapped; its status
    /// and body are the caller's to read. The client's 60-second timeout
    /// ends the stream.
    pub async fn open_stream(
        &self,
        endpoint: &'static Endpoint,
        last_event_id: Option<i64>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self
            .base
            .join(&format!(
                "{}{}",
                BASE_PATH.trim_start_matches('/'),
                endpoint.path
            ))
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        let mut request = self
            .client
            .request(method(endpoint.method), url)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(seq) = last_event_id {
            request = request.header("last-event-id", seq.to_string());
        }
        Ok(request.send().await?)
    }
}
