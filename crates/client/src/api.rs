//! HTTP plumbing and the JSON shapes of the API.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ClientError, ServerUrl};

/// Bytes as unpadded base64url.
#[derive(Clone, Debug)]
pub(crate) struct B64(pub Vec<u8>);

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
            .map_err(|_| serde::de::Error::custom("not base64url"))
    }
}

#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub error: String,
    pub message: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct PublicMemberView {
    pub handle: String,
    pub display_name: String,
    pub identity_public: B64,
    pub fingerprint: String,
}

#[derive(Deserialize)]
pub(crate) struct MemberView {
    pub handle: String,
    pub display_name: String,
    pub identity_public: B64,
    pub sealed_identity: B64,
}

#[derive(Deserialize)]
pub(crate) struct OpaqueResponse {
    pub response: B64,
}

#[derive(Deserialize)]
pub(crate) struct RecoverStarted {
    pub response: B64,
    pub identity_public: B64,
    pub recovery_sealed_identity: B64,
}

#[derive(Deserialize)]
pub(crate) struct LoginStarted {
    pub login_id: String,
    pub response: B64,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ConversationView {
    pub id: String,
    pub sealed_key: B64,
    pub confirmed: bool,
    pub last_seq: i64,
    pub unread: i64,
    pub link_requested: bool,
    pub last_activity_at: i64,
}

#[derive(Deserialize)]
pub(crate) struct ConversationPage {
    pub conversations: Vec<ConversationView>,
    pub next_before: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct MessageView {
    pub seq: i64,
    pub message_id: String,
    pub sender: String,
    pub ciphertext: B64,
}

#[derive(Deserialize)]
pub(crate) struct MessagePage {
    pub messages: Vec<MessageView>,
    pub next_after: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct PostedView {
    pub seq: i64,
    pub notification: String,
}

#[derive(Deserialize)]
pub(crate) struct Redeemed {
    pub conversation_id: String,
    pub wrapped_key: B64,
    pub member: PublicMemberView,
}

#[derive(Deserialize)]
pub(crate) struct Peeked {
    pub member: PublicMemberView,
}

/// A grant's server half, as sent.
#[derive(Serialize)]
pub(crate) struct GrantInput {
    pub grant_id: String,
    pub wrapped_key: B64,
}

/// A message as posted, with an optional new link.
#[derive(Serialize)]
pub(crate) struct PostMessage<'a> {
    pub message_id: String,
    pub ciphertext: B64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<GrantInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<&'a str>,
}

/// A link made outside a message.
#[derive(Serialize)]
pub(crate) struct AddGrant<'a> {
    #[serde(flatten)]
    pub grant: GrantInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<&'a str>,
    pub answers_request: bool,
}

#[derive(Deserialize)]
pub(crate) struct GrantAdded {
    pub notification: String,
}

/// One HTTP session: base address, cookie jar, and the `Origin` header the
/// server expects on cookie-authenticated writes.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: url::Url,
    origin: String,
}

impl Http {
    pub fn new(server: &ServerUrl) -> Result<Http, ClientError> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Http {
            client,
            origin: server.0.origin().ascii_serialization(),
            base: server.0.clone(),
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, ClientError> {
        self.base
            .join(&format!("api/v1/{}", path.trim_start_matches('/')))
            .map_err(|e| ClientError::Usage(e.to_string()))
    }

    async fn answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
        let status = response.status();
        if status.is_success() {
            let bytes = response.bytes().await?;
            let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(body)
                .map_err(|e| ClientError::Protocol(format!("unexpected answer: {e}")));
        }
        let bytes = response.bytes().await?;
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => ClientError::Api {
                status: status.as_u16(),
                code: body.error,
                message: body.message,
            },
            Err(_) => ClientError::Api {
                status: status.as_u16(),
                code: "unreadable".into(),
                message: String::from_utf8_lossy(&bytes).into_owned(),
            },
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let response = self.client.get(self.url(path)?).send().await?;
        Self::answer(response).await
    }

    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let response = self
            .client
            .request(method, self.url(path)?)
            .header(reqwest::header::ORIGIN, &self.origin)
            .json(body)
            .send()
            .await?;
        Self::answer(response).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Result<(), ClientError> {
        let response = self
            .client
            .delete(self.url(path)?)
            .header(reqwest::header::ORIGIN, &self.origin)
            .send()
            .await?;
        Self::answer::<serde_json::Value>(response)
            .await
            .map(|_| ())
    }
}

/// `Option<T>` answers for 204 bodies.
pub(crate) type Empty = Option<serde_json::Value>;
