//! Outgoing e-mail: what an outbox row holds, how it reads, and how it
//! leaves (an SMTP relay, or the dev mailbox). No e-mail ever carries message
//! content: a guest gets a link, a member a notice.

use std::sync::{Arc, Mutex};

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::{MailConfig, MailTransportKind, SmtpSecurity};

/// What an outbox row asks for. Serialised, then sealed with the outbox key.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailPayload {
    /// A guest's link to his conversation.
    GuestLink {
        /// The guest's address.
        to: String,
        /// Who wrote to him (the member's display name).
        member_name: String,
        /// `k1.…`: the link key. The reason this payload is sealed.
        fragment: String,
        /// Why the link is sent.
        reason: LinkReason,
    },
    /// A member's content-free notice that a guest wrote.
    MemberNotice {
        /// The member's address.
        to: String,
    },
}

impl std::fmt::Debug for MailPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailPayload(***)")
    }
}

/// Why a guest gets a link.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkReason {
    /// He just wrote to a member: the link confirms his address.
    FirstContact,
    /// The member answered.
    NewMessage,
    /// He asked for a new link.
    Requested,
}

/// A rendered e-mail.
#[derive(Clone, Serialize)]
pub struct Email {
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Email(***)")
    }
}

impl MailPayload {
    /// Renders the e-mail. `public_url` is the server's public address.
    pub fn render(&self, public_url: &str) -> Email {
        let base = public_url.trim_end_matches('/');
        match self {
            MailPayload::GuestLink {
                to,
                member_name,
                fragment,
                reason,
            } => {
                let link = format!("{base}/open#{fragment}");
                let (subject, opening) = match reason {
                    LinkReason::FirstContact => (
                        format!("Your message to {member_name}"),
                        format!(
                            "Your message to {member_name} was delivered. When you open this \
                             link you confirm your address, and you can read the conversation \
                             and write again."
                        ),
                    ),
                    LinkReason::NewMessage => (
                        format!("New message from {member_name}"),
                        format!("{member_name} wrote to you. Open the link to read it and reply."),
                    ),
                    LinkReason::Requested => (
                        format!("Your new link to {member_name}"),
                        format!(
                            "You asked for a new link to your conversation with {member_name}."
                        ),
                    ),
                };
                let rules = "The link opens the conversation in your browser; nothing is \
                             installed. It can be used once (reloads work for a few minutes) \
                             and expires if unused. The message itself is not in this e-mail: \
                             it is end-to-end encrypted.";
                Email {
                    to: to.clone(),
                    subject,
                    text: format!("{opening}\n\n{link}\n\n{rules}\n"),
                    html: format!(
                        "<!doctype html><html><body><p>{}</p><p><a href=\"{}\">Open the \
                         conversation</a></p><p>{}</p></body></html>",
                        html_escape(&opening),
                        html_escape(&link),
                        html_escape(rules)
                    ),
                }
            }
            MailPayload::MemberNotice { to } => {
                let inbox = format!("{base}/inbox");
                let text = "A guest wrote to you. Sign in to read the message; it is \
                            end-to-end encrypted and not part of this e-mail.";
                Email {
                    to: to.clone(),
                    subject: "New message in your latchkey inbox".into(),
                    text: format!("{text}\n\n{inbox}\n"),
                    html: format!(
                        "<!doctype html><html><body><p>{}</p><p><a href=\"{}\">Open your \
                         inbox</a></p></body></html>",
                        html_escape(text),
                        html_escape(&inbox)
                    ),
                }
            }
        }
    }

    /// Serialises for sealing.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads an opened payload.
    pub fn from_bytes(bytes: &[u8]) -> Option<MailPayload> {
        serde_json::from_slice(bytes).ok()
    }
}

/// Text made safe inside HTML (element content or a quoted attribute).
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A mail that could not be handed over. Carries no relay reply text: a
/// relay's reply often repeats the recipient's address, which must not
/// reach the log.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A recipient or sender address is not valid. Permanent.
    #[error("invalid address")]
    Address,
    /// Building the message failed. Permanent.
    #[error("cannot build the message")]
    Build,
    /// The relay refused or could not be reached.
    #[error("SMTP {} failure{}", if *.permanent { "permanent" } else { "transient" }, .code.as_ref().map(|c| format!(" (reply code {c})")).unwrap_or_default())]
    Smtp {
        /// A 5xx refusal: sending again will not help.
        permanent: bool,
        /// The SMTP reply code, if there was a reply.
        code: Option<String>,
    },
    /// The whole hand-over took longer than allowed. Transient.
    #[error("SMTP hand-over timed out")]
    Timeout,
    /// The outbox row does not open with this server's keys (a swapped
    /// secrets file?). Kept: the right file may come back.
    #[error("the outbox payload does not open with this server's keys")]
    Unreadable,
}

impl MailError {
    /// Whether trying again later can succeed.
    pub fn is_permanent(&self) -> bool {
        match self {
            MailError::Address | MailError::Build => true,
            MailError::Smtp { permanent, .. } => *permanent,
            MailError::Timeout | MailError::Unreadable => false,
        }
    }
}

/// Mail kept in memory for `/dev/mail` (dev mode only).
#[derive(Clone, Debug, Default)]
pub struct DevMailbox {
    mails: Arc<Mutex<Vec<Email>>>,
}

impl DevMailbox {
    /// Every mail so far, oldest first.
    pub fn all(&self) -> Vec<Email> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn push(&self, email: Email) {
        if let Ok(mut mails) = self.mails.lock() {
            mails.push(email);
        }
    }
}

/// How mail leaves the server.
#[derive(Clone, Debug)]
pub enum Mailer {
    /// A real relay.
    Smtp {
        /// The pooled transport.
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// `From:`.
        from: Mailbox,
    },
    /// The dev mailbox; links also go to the console.
    Dev(DevMailbox),
}

impl Mailer {
    /// Builds the configured transport.
    pub fn from_config(config: &MailConfig) -> Result<Mailer, MailError> {
        match config.transport {
            MailTransportKind::Dev => Ok(Mailer::Dev(DevMailbox::default())),
            MailTransportKind::Smtp => {
                let smtp = &config.smtp;
                let builder = match smtp.security {
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                            .map_err(|_| MailError::Build)?
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                        .map_err(|_| MailError::Build)?,
                };
                let mut builder = builder.port(smtp.port).timeout(Some(smtp.timeout));
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    builder = builder
                        .credentials(Credentials::new(user.clone(), password.expose().to_owned()));
                }
                let from = config.from.parse().map_err(|_| MailError::Address)?;
                Ok(Mailer::Smtp {
                    transport: builder.build(),
                    from,
                })
            }
        }
    }

    /// The dev mailbox, if this is one.
    pub fn dev_mailbox(&self) -> Option<&DevMailbox> {
        match self {
            Mailer::Dev(mailbox) => Some(mailbox),
            Mailer::Smtp { .. } => None,
        }
    }

    /// Hands one e-mail over.
    pub async fn send(&self, email: Email) -> Result<(), MailError> {
        match self {
            Mailer::Dev(mailbox) => {
                // Dev mode only (the configuration refuses it otherwise): the
                // console is the developer's mail client.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!(
                        "\n[dev mail] to {}: {}\n{}",
                        email.to, email.subject, email.text
                    );
                }
                mailbox.push(email);
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = email.to.parse().map_err(|_| MailError::Address)?;
                let message = lettre::Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(email.subject)
                    .multipart(
                        MultiPart::alternative()
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_PLAIN)
                                    .body(email.text),
                            )
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_HTML)
                                    .body(email.html),
                            ),
                    )
                    .map_err(|_| MailError::Build)?;
                transport.send(message).await.map_err(|e| MailError::Smtp {
                    permanent: e.is_permanent(),
                    code: e.status().map(|c| c.to_string()),
                })?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_link_mail_has_the_link_and_no_markup_from_names() {
        let payload = MailPayload::GuestLink {
            to: "ann@example.org".into(),
            member_name: "<b>Bob</b>".into(),
            fragment: "k1.AAAA".into(),
            reason: LinkReason::NewMessage,
        };
        let email = payload.render("https://chat.example.org/");
        assert!(email.text.contains("https://chat.example.org/open#k1.AAAA"));
        assert!(email.html.contains("&lt;b&gt;Bob&lt;/b&gt;"));
        assert!(!email.html.contains("<b>Bob"));
        let round = MailPayload::from_bytes(&payload.to_bytes()).unwrap();
        assert!(matches!(round, MailPayload::GuestLink { .. }));
        assert_eq!(format!("{round:?}"), "MailPayload(***)");
    }
}

#[cfg(test)]
mod address_tests {
    use latchkey_api::Email;

    proptest::proptest! {
        /// The contract's rule is the whole check on the way in; the mail
        /// library parses the address again when it sends, and must never
        /// refuse one the rule let in.
        #[test]
        fn every_address_the_contract_accepts_is_a_recipient(
            text in "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\\.[A-Za-z0-9_-]{1,4}){0,2}@[A-Za-z0-9-]{1,8}(\\.[A-Za-z0-9-]{1,6}){1,3}"
        ) {
            if let Ok(email) = Email::parse(&text) {
                proptest::prop_assert!(email.as_str().parse::<lettre::Address>().is_ok(), "{}", text);
            }
        }
    }
}
