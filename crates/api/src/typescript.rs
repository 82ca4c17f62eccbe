//! The TypeScript declarations of the wire types, for the web pages:
//! `web/src/common/api-types.ts` is the committed output; a test keeps the
//! two equal.

use ts_rs::{Config, TS};

fn declare<T: TS>(cfg: &Config, out: &mut String) {
    // Derived types bring their JSDoc block; the string newtypes bring text.
    if let Some(docs) = T::docs().filter(|d| d.trim_start().starts_with("/**")) {
        out.push_str(docs.trim_end());
        out.push('\n');
    } else if let Some(docs) = T::docs() {
        out.push_str("/**\n");
        for line in docs.lines() {
            out.push_str(" * ");
            out.push_str(line.trim_start());
            out.push('\n');
        }
        out.push_str(" */\n");
    }
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

/// The whole file.
pub fn declarations() -> String {
    // Sequence numbers and times fit a JavaScript number (2^53).
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust contract crate `latchkey-api` (crates/api);\n\
         // do not edit. Regenerate: LATCHKEY_WRITE_CONTRACT=1 cargo test -p latchkey-api --test generated\n\n",
    );
    declare::<crate::B64>(&cfg, &mut out);
    declare::<crate::Handle>(&cfg, &mut out);
    declare::<crate::Email>(&cfg, &mut out);
    declare::<crate::DisplayName>(&cfg, &mut out);
    declare::<crate::ConversationId>(&cfg, &mut out);
    declare::<crate::MessageId>(&cfg, &mut out);
    declare::<crate::LoginId>(&cfg, &mut out);
    declare::<crate::GrantId>(&cfg, &mut out);
    declare::<crate::LinkFragment>(&cfg, &mut out);
    declare::<crate::ErrorBody>(&cfg, &mut out);
    declare::<crate::Health>(&cfg, &mut out);
    declare::<crate::LiveEventData>(&cfg, &mut out);
    declare::<crate::AuthMethods>(&cfg, &mut out);
    declare::<crate::RegisterStart>(&cfg, &mut out);
    declare::<crate::RegisterStarted>(&cfg, &mut out);
    declare::<crate::OpaqueResponse>(&cfg, &mut out);
    declare::<crate::RegisterFinish>(&cfg, &mut out);
    declare::<crate::MemberView>(&cfg, &mut out);
    declare::<crate::PublicMember>(&cfg, &mut out);
    declare::<crate::LoginStart>(&cfg, &mut out);
    declare::<crate::LoginStarted>(&cfg, &mut out);
    declare::<crate::LoginFinish>(&cfg, &mut out);
    declare::<crate::ProfileUpdate>(&cfg, &mut out);
    declare::<crate::PasswordStart>(&cfg, &mut out);
    declare::<crate::PasswordFinish>(&cfg, &mut out);
    declare::<crate::RecoverStart>(&cfg, &mut out);
    declare::<crate::RecoverStarted>(&cfg, &mut out);
    declare::<crate::RecoverFinish>(&cfg, &mut out);
    declare::<crate::NewRecovery>(&cfg, &mut out);
    declare::<crate::PasskeyView>(&cfg, &mut out);
    declare::<crate::PasskeyList>(&cfg, &mut out);
    declare::<crate::AddPasskey>(&cfg, &mut out);
    declare::<crate::EnrollStart>(&cfg, &mut out);
    declare::<crate::EnrollStarted>(&cfg, &mut out);
    declare::<crate::EnrollPasskey>(&cfg, &mut out);
    declare::<crate::PasskeyLoginStart>(&cfg, &mut out);
    declare::<crate::PasskeyCopy>(&cfg, &mut out);
    declare::<crate::PasskeyLoginStarted>(&cfg, &mut out);
    declare::<crate::PasskeyLoginFinish>(&cfg, &mut out);
    declare::<crate::MessageInput>(&cfg, &mut out);
    declare::<crate::GrantInput>(&cfg, &mut out);
    declare::<crate::StartConversation>(&cfg, &mut out);
    declare::<crate::Started>(&cfg, &mut out);
    declare::<crate::ConversationView>(&cfg, &mut out);
    declare::<crate::ConversationPage>(&cfg, &mut out);
    declare::<crate::GuestConversationView>(&cfg, &mut out);
    declare::<crate::ConversationAnswer>(&cfg, &mut out);
    declare::<crate::Sender>(&cfg, &mut out);
    declare::<crate::MessageView>(&cfg, &mut out);
    declare::<crate::MessagePage>(&cfg, &mut out);
    declare::<crate::PostMessage>(&cfg, &mut out);
    declare::<crate::Notification>(&cfg, &mut out);
    declare::<crate::PostedView>(&cfg, &mut out);
    declare::<crate::ReadMark>(&cfg, &mut out);
    declare::<crate::ReadReceipts>(&cfg, &mut out);
    declare::<crate::AddGrant>(&cfg, &mut out);
    declare::<crate::GrantAdded>(&cfg, &mut out);
    declare::<crate::GrantRef>(&cfg, &mut out);
    declare::<crate::RedeemRequest>(&cfg, &mut out);
    declare::<crate::Peeked>(&cfg, &mut out);
    declare::<crate::RedeemedView>(&cfg, &mut out);
    declare::<crate::LinkRequest>(&cfg, &mut out);
    declare::<crate::LinkRequested>(&cfg, &mut out);
    declare::<crate::EnrollPeek>(&cfg, &mut out);
    declare::<crate::Enrollment>(&cfg, &mut out);
    declare::<crate::MemberStatus>(&cfg, &mut out);
    declare::<crate::AdminMember>(&cfg, &mut out);
    declare::<crate::AdminMemberList>(&cfg, &mut out);
    declare::<crate::InviteRequest>(&cfg, &mut out);
    declare::<crate::Invited>(&cfg, &mut out);
    declare::<crate::AddWebhook>(&cfg, &mut out);
    declare::<crate::WebhookView>(&cfg, &mut out);
    declare::<crate::WebhookList>(&cfg, &mut out);
    declare::<crate::WebhookAdded>(&cfg, &mut out);
    declare::<crate::ListQuery>(&cfg, &mut out);
    declare::<crate::MessagesQuery>(&cfg, &mut out);
    out.push_str(&error_codes());
    out
}

/// The error codes as a string union, so a page's `err.code === '…'`
/// is checked by the compiler.
fn error_codes() -> String {
    let codes: Vec<String> = crate::ErrorCode::ALL
        .iter()
        .map(|c| format!("  | '{}'", c.as_str()))
        .collect();
    format!(
        "/** Every error code the API answers with. */\nexport type ErrorCode =\n{};\n",
        codes.join("\n")
    )
}
