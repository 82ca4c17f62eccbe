//! The OpenAPI 3.1 document, generated from the body types (their utoipa
//! schemas) and the operation table. `crates/api/openapi.json` is its
//! committed output; `tests/generated.rs` keeps the two equal.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use crate::endpoints::{self, Auth, Cookie, Endpoint};
use crate::ErrorCode;

type Schemas = Vec<(String, RefOr<Schema>)>;

fn add<T: ToSchema>(schemas: &mut Schemas) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// Every named schema: the bodies and what they refer to.
fn component_schemas() -> BTreeMap<String, Value> {
    let mut schemas: Schemas = Vec::new();
    add::<crate::ErrorBody>(&mut schemas);
    add::<crate::Health>(&mut schemas);
    add::<crate::LiveEventData>(&mut schemas);
    add::<crate::AuthMethods>(&mut schemas);
    add::<crate::RegisterStart>(&mut schemas);
    add::<crate::RegisterStarted>(&mut schemas);
    add::<crate::OpaqueResponse>(&mut schemas);
    add::<crate::RegisterFinish>(&mut schemas);
    add::<crate::MemberView>(&mut schemas);
    add::<crate::PublicMember>(&mut schemas);
    add::<crate::LoginStart>(&mut schemas);
    add::<crate::LoginStarted>(&mut schemas);
    add::<crate::LoginFinish>(&mut schemas);
    add::<crate::ProfileUpdate>(&mut schemas);
    add::<crate::PasswordStart>(&mut schemas);
    add::<crate::PasswordFinish>(&mut schemas);
    add::<crate::RecoverStart>(&mut schemas);
    add::<crate::RecoverStarted>(&mut schemas);
    add::<crate::RecoverFinish>(&mut schemas);
    add::<crate::NewRecovery>(&mut schemas);
    add::<crate::PasskeyView>(&mut schemas);
    add::<crate::PasskeyList>(&mut schemas);
    add::<crate::AddPasskey>(&mut schemas);
    add::<crate::EnrollStart>(&mut schemas);
    add::<crate::EnrollStarted>(&mut schemas);
    add::<crate::EnrollPasskey>(&mut schemas);
    add::<crate::PasskeyLoginStart>(&mut schemas);
    add::<crate::PasskeyCopy>(&mut schemas);
    add::<crate::PasskeyLoginStarted>(&mut schemas);
    add::<crate::PasskeyLoginFinish>(&mut schemas);
    add::<crate::StartConversation>(&mut schemas);
    add::<crate::Started>(&mut schemas);
    add::<crate::ConversationPage>(&mut schemas);
    add::<crate::ConversationAnswer>(&mut schemas);
    add::<crate::MessagePage>(&mut schemas);
    add::<crate::PostMessage>(&mut schemas);
    add::<crate::PostedView>(&mut schemas);
    add::<crate::ReadMark>(&mut schemas);
    add::<crate::ReadReceipts>(&mut schemas);
    add::<crate::AddGrant>(&mut schemas);
    add::<crate::GrantAdded>(&mut schemas);
    add::<crate::GrantRef>(&mut schemas);
    add::<crate::RedeemRequest>(&mut schemas);
    add::<crate::Peeked>(&mut schemas);
    add::<crate::RedeemedView>(&mut schemas);
    add::<crate::LinkRequest>(&mut schemas);
    add::<crate::LinkRequested>(&mut schemas);
    add::<crate::EnrollPeek>(&mut schemas);
    add::<crate::Enrollment>(&mut schemas);
    add::<crate::AdminMember>(&mut schemas);
    add::<crate::AdminMemberList>(&mut schemas);
    add::<crate::InviteRequest>(&mut schemas);
    add::<crate::Invited>(&mut schemas);
    add::<crate::AddWebhook>(&mut schemas);
    add::<crate::WebhookView>(&mut schemas);
    add::<crate::WebhookList>(&mut schemas);
    add::<crate::WebhookAdded>(&mut schemas);
    add::<crate::ListQuery>(&mut schemas);
    add::<crate::MessagesQuery>(&mut schemas);
    // Named for the path parameters even where no body refers to them.
    add::<crate::Handle>(&mut schemas);
    add::<crate::ConversationId>(&mut schemas);
    let mut out: BTreeMap<String, Value> = schemas
        .into_iter()
        .map(|(name, schema)| (name, to_value(&schema)))
        .collect();
    out.insert(
        "OpenApiDocument".into(),
        json!({"type": "object", "description": "An OpenAPI 3.1 document."}),
    );
    out
}

fn to_value(schema: &RefOr<Schema>) -> Value {
    // A schema is plain data; serialising it cannot fail.
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The security alternatives of an operation. Each cookie has two names:
/// `__Host-…` over HTTPS, and the plain name on a dev-mode server over
/// plain HTTP.
fn security(auth: Auth) -> Value {
    let member = [json!({"memberCookie": []}), json!({"memberCookieDev": []})];
    let guest = [json!({"guestCookie": []}), json!({"guestCookieDev": []})];
    match auth {
        Auth::Anyone => json!([]),
        Auth::Member => json!(member),
        Auth::Participant => json!(member.iter().chain(guest.iter()).collect::<Vec<_>>()),
        Auth::AdminToken(scope) => json!([{"adminToken": [scope]}]),
        Auth::OptionalCookies => {
            let mut all = vec![json!({})];
            all.extend(member.iter().chain(guest.iter()).cloned());
            json!(all)
        }
    }
}

fn security_schemes() -> Value {
    let scheme = |name: &str, who: &str, dev: bool| {
        let origin = "Writes (any method but GET) authenticated by it must send an `Origin` header equal to the server's public origin, else 403 `bad_origin`.";
        let attributes = if dev {
            "HttpOnly, SameSite=Strict, Path=/; only on a dev-mode server over plain http"
        } else {
            "HttpOnly, SameSite=Strict, Secure, Path=/"
        };
        json!({
            "type": "apiKey",
            "in": "cookie",
            "name": name,
            "description": format!("The {who} session cookie ({attributes}). {origin}"),
        })
    };
    json!({
        "memberCookie": scheme("__Host-latchkey-member", "member", false),
        "memberCookieDev": scheme("latchkey-member", "member", true),
        "guestCookie": scheme("__Host-latchkey-guest", "guest (one conversation)", false),
        "guestCookieDev": scheme("latchkey-guest", "guest (one conversation)", true),
        "adminToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "An admin API token of the site's backend (`latchkey admin token create --name NAME --scope SCOPE[,SCOPE]`); the operation's scope is listed with it. No cookies, so no `Origin` check. A missing, unknown or revoked token answers 401 `bad_token`, a token without the scope 403 `missing_scope`.",
        },
    })
}

fn headers() -> Value {
    let text =
        |description: &str| json!({"description": description, "schema": {"type": "string"}});
    json!({
        "RetryAfter": {
            "description": "Seconds to wait before asking again (until the budget reopens, or a stream place may be free).",
            "schema": {"type": "integer", "minimum": 1}
        },
        "SetMemberCookie": text("Opens the member session: `__Host-latchkey-member=TOKEN; Path=/; HttpOnly; SameSite=Strict; Secure` (without `__Host-` and `Secure` on a dev-mode server over plain http)."),
        "SetGuestCookie": text("Opens a guest session for this conversation only: `__Host-latchkey-guest=TOKEN; Path=/; HttpOnly; SameSite=Strict; Secure` (without `__Host-` and `Secure` on a dev-mode server over plain http)."),
        "ClearCookies": text("Clears the member and the guest session cookies (`Max-Age=0`)."),
        "ClearGuestCookie": text("Sent to a guest only: clears the guest session cookie (`Max-Age=0`)."),
    })
}

fn cookie_header(cookie: Cookie) -> &'static str {
    match cookie {
        Cookie::SetMember => "SetMemberCookie",
        Cookie::SetGuest => "SetGuestCookie",
        Cookie::ClearBoth => "ClearCookies",
        Cookie::ClearGuest => "ClearGuestCookie",
    }
}

fn parameters(endpoint: &Endpoint, schemas: &BTreeMap<String, Value>) -> Vec<Value> {
    let mut out = Vec::new();
    if endpoint.path.contains("{handle}") {
        out.push(json!({
            "name": "handle", "in": "path", "required": true,
            "description": "The member's handle (trimmed and folded to lower case).",
            "schema": schema_ref("Handle"),
        }));
    }
    if endpoint.path.contains("{id}") {
        out.push(json!({
            "name": "id", "in": "path", "required": true,
            "description": "The conversation's id.",
            "schema": schema_ref("ConversationId"),
        }));
    }
    if endpoint.path.contains("{webhook_id}") {
        out.push(json!({
            "name": "webhook_id", "in": "path", "required": true,
            "description": "The webhook endpoint's id.",
            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        }));
    }
    if endpoint.path.contains("{credential_id}") {
        out.push(json!({
            "name": "credential_id", "in": "path", "required": true,
            "description": "The passkey's WebAuthn credential id, unpadded base64url.",
            "schema": {"type": "string", "minLength": 2, "maxLength": 1364, "pattern": crate::bytes::BASE64URL_PATTERN},
        }));
    }
    let properties = endpoint
        .query
        .and_then(|name| schemas.get(name))
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    for (name, schema) in properties.into_iter().flatten() {
        let mut schema = schema.clone();
        let description = schema
            .as_object_mut()
            .and_then(|s| s.remove("description"))
            .unwrap_or(Value::Null);
        out.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description,
            "schema": schema,
        }));
    }
    out
}

fn responses(endpoint: &Endpoint) -> Map<String, Value> {
    let mut out = Map::new();
    for reply in endpoint.replies {
        let mut response = Map::new();
        response.insert("description".into(), json!(reply.description));
        if let Some(body) = reply.body {
            let content = match reply.media {
                // An event stream is text; its schema names what each
                // event's `data:` line holds.
                Some(media) => json!({media: {"schema": {
                    "type": "string",
                    "description": format!("Server-Sent Events; each `data:` is a `{body}`."),
                    "contentMediaType": media,
                }}}),
                None => json!({"application/json": {"schema": schema_ref(body)}}),
            };
            response.insert("content".into(), content);
        }
        if let Some(cookie) = reply.cookie {
            response.insert(
                "headers".into(),
                json!({"Set-Cookie": {
                    "$ref": format!("#/components/headers/{}", cookie_header(cookie))
                }}),
            );
        }
        out.insert(reply.status.to_string(), Value::Object(response));
    }
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in endpoint.errors() {
        by_status.entry(code.status()).or_default().push(code);
    }
    for (status, codes) in by_status {
        let description = codes
            .iter()
            .map(|c| format!("`{}`: {}", c.as_str(), c.description()))
            .collect::<Vec<_>>()
            .join("; ");
        let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        let mut response = Map::new();
        response.insert("description".into(), json!(description));
        response.insert(
            "content".into(),
            json!({"application/json": {"schema": {
                "allOf": [
                    schema_ref("ErrorBody"),
                    {"properties": {"error": {"enum": names}}}
                ]
            }}}),
        );
        if status == 429 || codes.contains(&ErrorCode::StreamsFull) {
            response.insert(
                "headers".into(),
                json!({"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}),
            );
        }
        out.insert(status.to_string(), Value::Object(response));
    }
    out
}

fn operation(endpoint: &Endpoint, schemas: &BTreeMap<String, Value>) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(endpoint.operation_id));
    op.insert("summary".into(), json!(endpoint.summary));
    op.insert("description".into(), json!(endpoint.description));
    op.insert("security".into(), security(endpoint.auth));
    op.insert("responses".into(), Value::Object(responses(endpoint)));
    let parameters = parameters(endpoint, schemas);
    if !parameters.is_empty() {
        op.insert("parameters".into(), json!(parameters));
    }
    if let Some(body) = endpoint.request {
        op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "content": {"application/json": {"schema": schema_ref(body)}},
            }),
        );
    }
    Value::Object(op)
}

const DESCRIPTION: &str = "The JSON API of a latchkey server: end-to-end-encrypted messages between members and guests who have only an e-mail address. The server stores ciphertexts made by clients and never holds a key that decrypts a message, except a link key while its e-mail waits in the outbox.\n\nBytes travel as unpadded base64url strings and ids as 32 lower-case hex digits. Request bodies are JSON (`Content-Type: application/json`); unknown fields are refused. Every error is `{\"error\": code, \"message\": text}`. Besides the errors listed per operation, an unknown path under `/api/v1` answers 404 `no_route` and a known path with another method answers 405 `method_not_allowed`. Every answer has `Cache-Control: no-store`. A human guide is in `docs/api.md`.\n\nThis document is generated from the contract crate `latchkey-api`; do not edit it by hand.";

/// The whole document.
pub fn document() -> Value {
    let schemas = component_schemas();
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for endpoint in endpoints::ALL {
        paths.entry(endpoint.path).or_default().insert(
            endpoint.method.as_str().to_ascii_lowercase(),
            operation(endpoint, &schemas),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "latchkey",
            "version": "1",
            "description": DESCRIPTION,
        },
        "servers": [{"url": crate::BASE_PATH}],
        "security": [],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": security_schemes(),
            "headers": headers(),
        },
    })
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}
