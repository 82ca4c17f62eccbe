//! Outgoing e-mail: what an outbox row holds, how it reads, and how it
//! leaves (an SMTP relay, or the dev mailbox). No e-mail ever carries message
//! content: a guest gets a link, a member a notice.

use std::sync::{Arc, Mutex};

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::TlsParameters;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::{read_ca_file, MailConfig, MailTransportKind, SmtpSecurity};
use crate::i18n::Language;

mod relay;
pub use relay::Relay;
use relay::{RelaySettings, Security};

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
        /// The guest's language. Rows queued before languages existed have
        /// none: English.
        #[serde(default)]
        language: Language,
    },
    /// A member's invitation from the site: his one-time enrollment link.
    Invite {
        /// The invited member's address.
        to: String,
        /// His display name, as the site gave it.
        member_name: String,
        /// The enrollment token. The reason this payload is sealed.
        token: String,
        /// The mail's language.
        #[serde(default)]
        language: Language,
    },
    /// A member's content-free notice that a guest wrote.
    MemberNotice {
        /// The member's address.
        to: String,
        /// The member's language (English for rows from before).
        #[serde(default)]
        language: Language,
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
    /// Renders the e-mail in its recipient's language. `public_url` is the
    /// server's public address.
    pub fn render(&self, public_url: &str) -> Email {
        let base = public_url.trim_end_matches('/');
        match self {
            MailPayload::GuestLink {
                to,
                member_name,
                fragment,
                reason,
                language,
            } => {
                let t = |key: &str, name: &str| language.text(key, &[("member", name)]);
                let link = format!("{base}/open#{fragment}");
                let unnamed = language.raw("mail.link.unnamed_member");
                let full_name = clean_name(member_name);
                let full_name = if full_name.is_empty() {
                    unnamed
                } else {
                    &full_name
                };
                let short_name = subject_name(member_name).unwrap_or_else(|| unnamed.to_owned());
                let kind = match reason {
                    LinkReason::FirstContact => "first_contact",
                    LinkReason::NewMessage => "new_message",
                    LinkReason::Requested => "requested",
                };
                let subject = t(&format!("mail.link.{kind}.subject"), &short_name);
                let opening = t(&format!("mail.link.{kind}.opening"), full_name);
                let rules = language.raw("mail.link.rules");
                one_link_mail(
                    *language,
                    to,
                    subject,
                    &opening,
                    &link,
                    language.raw("mail.link.button"),
                    Some(rules),
                )
            }
            MailPayload::Invite {
                to,
                member_name,
                token,
                language,
            } => {
                let link = format!("{base}/enroll#{token}");
                let name = clean_name(member_name);
                let opening = language.text("mail.invite.opening", &[("member", &name)]);
                let rules = language.raw("mail.invite.rules");
                one_link_mail(
                    *language,
                    to,
                    language.raw("mail.invite.subject").to_owned(),
                    &opening,
                    &link,
                    language.raw("mail.invite.button"),
                    Some(rules),
                )
            }
            MailPayload::MemberNotice { to, language } => {
                let inbox = format!("{base}/inbox");
                let text = language.raw("mail.notice.body");
                one_link_mail(
                    *language,
                    to,
                    language.raw("mail.notice.subject").to_owned(),
                    text,
                    &inbox,
                    language.raw("mail.notice.button"),
                    None,
                )
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

/// Every mail latchkey sends has one thing to do: a sentence, one link, and
/// perhaps a paragraph of rules after it. The HTML part says the same as
/// the text, with the link named `button`.
fn one_link_mail(
    language: Language,
    to: &str,
    subject: String,
    opening: &str,
    link: &str,
    button: &str,
    rules: Option<&str>,
) -> Email {
    let (text_rules, html_rules) = match rules {
        Some(rules) => (
            format!("\n{rules}\n"),
            format!("<p>{}</p>", html_escape(rules)),
        ),
        None => (String::new(), String::new()),
    };
    Email {
        to: to.to_owned(),
        subject,
        text: format!("{opening}\n\n{link}\n{text_rules}"),
        html: format!(
            "<!doctype html><html lang=\"{}\"><body><p>{}</p><p><a href=\"{}\">{}</a></p>{}\
             </body></html>",
            language.tag(),
            html_escape(opening),
            html_escape(link),
            html_escape(button),
            html_rules
        ),
    }
}

/// The longest member name a Subject line carries, in characters.
pub const SUBJECT_NAME_CHARS: usize = 40;

/// A member-chosen name as a mail shows it: what the contract refuses
/// (control and text-direction characters) is refused at input already;
/// invisible formatting characters (zero-width, soft hyphen, BOM, other
/// format controls) are dropped here too, so a name cannot hide text or
/// look like another, and runs of white space become one space.
fn clean_name(name: &str) -> String {
    let kept: String = name
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .collect();
    kept.split(' ')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Format characters (Unicode category Cf) and other invisible ones that a
/// name has no use for: they reorder, join or hide text.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// The member's name as a Subject line carries it: cleaned, and at most
/// [`SUBJECT_NAME_CHARS`] characters (the last an ellipsis when cut), so a
/// member cannot write his own subject line into a guest's inbox. None when
/// nothing visible is left (the mail then says "a member" in its language).
pub(crate) fn subject_name(name: &str) -> Option<String> {
    let clean = clean_name(name);
    if clean.is_empty() {
        return None;
    }
    if clean.chars().count() <= SUBJECT_NAME_CHARS {
        return Some(clean);
    }
    let cut: String = clean.chars().take(SUBJECT_NAME_CHARS - 1).collect();
    Some(format!("{}…", cut.trim_end()))
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
    /// The relay's certificate was refused: not signed by an authority
    /// this server trusts (the public ones and `mail.smtp.ca_file`), not
    /// valid for `mail.smtp.host`, expired. Transient: the mail waits in
    /// the outbox while the relay or the setting is put right. `reason` is
    /// the TLS library's, naming at most the relay's host names.
    #[error("mail relay's TLS certificate was refused: {reason}")]
    Certificate {
        /// Why, in the TLS library's words.
        reason: String,
    },
    /// TLS with the relay could not be set up or failed otherwise (no
    /// STARTTLS offered, a handshake the two sides do not agree on, plain
    /// text on a TLS port). Transient, like [`MailError::Certificate`].
    #[error("TLS with the mail relay failed: {reason}")]
    Tls {
        /// Why, in lettre's or the TLS library's words.
        reason: String,
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
            MailError::Certificate { .. }
            | MailError::Tls { .. }
            | MailError::Timeout
            | MailError::Unreadable => false,
        }
    }

    /// What a failed hand-over says: TLS failures in plain words (the
    /// handshake's error is two wrappers deep), the rest as the reply
    /// code, never the relay's reply text.
    pub fn from_smtp(error: &lettre::transport::smtp::Error) -> MailError {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(current) = cause {
            // tokio-rustls hands the handshake's error over inside an
            // `io::Error`, whose `source` skips it.
            let tls = current.downcast_ref::<rustls::Error>().or_else(|| {
                current
                    .downcast_ref::<std::io::Error>()
                    .and_then(std::io::Error::get_ref)
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            });
            if let Some(tls) = tls {
                return match tls {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                        MailError::Certificate {
                            reason: "signed by an authority this server does not trust \
                                     (UnknownIssuer): a relay with a private CA needs \
                                     mail.smtp.ca_file"
                                .into(),
                        }
                    }
                    rustls::Error::InvalidCertificate(why) => MailError::Certificate {
                        reason: why.to_string(),
                    },
                    rustls::Error::NoCertificatesPresented => MailError::Certificate {
                        reason: tls.to_string(),
                    },
                    other => MailError::Tls {
                        reason: other.to_string(),
                    },
                };
            }
            cause = current.source();
        }
        // lettre's own words, not the relay's.
        if error.is_client() && error.to_string().contains("STARTTLS") {
            return MailError::Tls {
                reason: "the relay does not offer STARTTLS, which mail.smtp.security = \
                         starttls requires"
                    .into(),
            };
        }
        MailError::Smtp {
            permanent: error.is_permanent(),
            code: error.status().map(|c| c.to_string()),
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
        /// The relay and its open connections.
        transport: Relay,
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
                // Not lettre's `relay`/`starttls_relay`: they trust the
                // public authorities only, and an internal relay's private
                // one is in `ca_file`. The certificate is checked for the
                // host either way.
                let tls = || -> Result<TlsParameters, MailError> {
                    let mut parameters = TlsParameters::builder(smtp.host.clone());
                    if let Some(path) = &smtp.ca_file {
                        let authorities = read_ca_file(path).map_err(|e| MailError::Tls {
                            reason: e.to_string(),
                        })?;
                        parameters = parameters.add_root_certificate(authorities);
                    }
                    parameters.build().map_err(|e| MailError::Tls {
                        reason: e.to_string(),
                    })
                };
                let security = match smtp.security {
                    SmtpSecurity::None => Security::None,
                    SmtpSecurity::Starttls => Security::Starttls(tls()?),
                    SmtpSecurity::Tls => Security::Tls(tls()?),
                };
                let credentials = match (&smtp.username, &smtp.password) {
                    (Some(user), Some(password)) => {
                        Some(Credentials::new(user.clone(), password.expose().to_owned()))
                    }
                    _ => None,
                };
                let from = config.from.parse().map_err(|_| MailError::Address)?;
                Ok(Mailer::Smtp {
                    transport: Relay::new(RelaySettings {
                        host: smtp.host.clone(),
                        port: smtp.port,
                        security,
                        credentials,
                        connect_timeout: smtp.timeout,
                        max_idle: usize::from(smtp.connections),
                    }),
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
                transport
                    .send(message.envelope(), &message.formatted())
                    .await
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
            language: Language::ENGLISH,
        };
        let email = payload.render("https://chat.example.org/");
        assert!(email.text.contains("https://chat.example.org/open#k1.AAAA"));
        assert!(email.html.contains("&lt;b&gt;Bob&lt;/b&gt;"));
        assert!(!email.html.contains("<b>Bob"));
        let round = MailPayload::from_bytes(&payload.to_bytes()).unwrap();
        assert!(matches!(round, MailPayload::GuestLink { .. }));
        assert_eq!(format!("{round:?}"), "MailPayload(***)");
    }

    fn subject_for(name: &str, reason: LinkReason) -> String {
        MailPayload::GuestLink {
            to: "ann@example.org".into(),
            member_name: name.into(),
            fragment: "k1.AAAA".into(),
            reason,
            language: Language::ENGLISH,
        }
        .render("https://chat.example.org")
        .subject
    }

    #[test]
    fn the_subject_carries_at_most_a_cleaned_short_name() {
        // A name the contract allows (80 characters) that tries to be the
        // subject line itself.
        let long = "URGENT account suspended, verify now at evil.example or lose it all";
        assert!(long.chars().count() <= 80);
        for reason in [
            LinkReason::FirstContact,
            LinkReason::NewMessage,
            LinkReason::Requested,
        ] {
            let subject = subject_for(long, reason);
            let prefix_len = match reason {
                LinkReason::FirstContact => "Your message to ".len(),
                LinkReason::NewMessage => "New message from ".len(),
                LinkReason::Requested => "Your new link to ".len(),
            };
            let name: String = subject.chars().skip(prefix_len).collect();
            assert_eq!(name.chars().count(), SUBJECT_NAME_CHARS, "{subject}");
            assert!(name.ends_with('…'), "{subject}");
            assert!(!subject.contains("lose it all"), "{subject}");
        }
        // Short names stay as they are.
        assert_eq!(
            subject_for("Bob", LinkReason::NewMessage),
            "New message from Bob"
        );
        assert_eq!(
            subject_for(&"é".repeat(40), LinkReason::NewMessage),
            format!("New message from {}", "é".repeat(40))
        );
        // Invisible characters and white-space runs go; bidi and control
        // characters too, should one ever get past the contract.
        assert_eq!(
            subject_for(
                "B\u{200B}o\u{FEFF}b \t  \u{202E}Smith\u{0007}",
                LinkReason::NewMessage
            ),
            "New message from Bob Smith"
        );
        assert_eq!(
            subject_for("\u{200B}\u{2060}", LinkReason::NewMessage),
            "New message from a member"
        );
        // No line break can reach the header.
        assert!(!subject_for("Bob\r\nBcc: x@example.org", LinkReason::Requested).contains('\n'));
    }
}

#[cfg(test)]
mod language_tests {
    use super::*;

    fn german() -> Language {
        Language::from_tag("de").unwrap()
    }

    fn link_mail(name: &str, reason: LinkReason, language: Language) -> Email {
        MailPayload::GuestLink {
            to: "ann@example.org".into(),
            member_name: name.into(),
            fragment: "k1.AAAA".into(),
            reason,
            language,
        }
        .render("https://chat.example.org")
    }

    #[test]
    fn a_guest_link_mail_reads_in_the_guests_language() {
        let mail = link_mail("Bob", LinkReason::NewMessage, german());
        assert_eq!(mail.subject, "Neue Nachricht von Bob");
        assert!(mail
            .text
            .starts_with("Sie haben eine neue Nachricht von Bob."));
        assert!(mail.text.contains("https://chat.example.org/open#k1.AAAA"));
        assert!(mail.html.contains("<html lang=\"de\">"));
        assert!(mail.html.contains(">Gespräch öffnen</a>"));
        let mail = link_mail("Bob", LinkReason::FirstContact, german());
        assert_eq!(mail.subject, "Ihre Nachricht ist bei Bob angekommen");
        let mail = link_mail("Bob", LinkReason::Requested, german());
        assert_eq!(mail.subject, "Ihr neuer Link zum Gespräch mit Bob");
        // Nothing visible in the name: the language's own words for it.
        let mail = link_mail("\u{200B}", LinkReason::NewMessage, german());
        assert_eq!(mail.subject, "Neue Nachricht von einem Mitglied");
        assert!(mail
            .text
            .starts_with("Sie haben eine neue Nachricht von einem Mitglied."));
        let mail = link_mail("\u{200B}", LinkReason::Requested, Language::ENGLISH);
        assert_eq!(mail.subject, "Your new link to a member");
    }

    #[test]
    fn a_member_notice_reads_in_the_members_language() {
        let mail = MailPayload::MemberNotice {
            to: "bob@example.org".into(),
            language: german(),
        }
        .render("https://chat.example.org");
        assert_eq!(mail.subject, "Neue Nachricht in Ihrem latchkey-Posteingang");
        assert!(mail.text.contains("https://chat.example.org/inbox"));
        assert!(mail.html.contains(">Posteingang öffnen</a>"));
    }

    #[test]
    fn a_row_queued_before_languages_existed_goes_out_in_english() {
        let old = br#"{"kind":"member_notice","to":"bob@example.org"}"#;
        let mail = MailPayload::from_bytes(old)
            .unwrap()
            .render("https://chat.example.org");
        assert_eq!(mail.subject, "New message in your latchkey inbox");
        let old = br#"{"kind":"guest_link","to":"a@example.org","member_name":"Bob","fragment":"k1.A","reason":"requested"}"#;
        let mail = MailPayload::from_bytes(old)
            .unwrap()
            .render("https://chat.example.org");
        assert_eq!(mail.subject, "Your new link to Bob");
        // A language since removed: English too.
        let gone = br#"{"kind":"member_notice","to":"b@example.org","language":"xx"}"#;
        let mail = MailPayload::from_bytes(gone)
            .unwrap()
            .render("https://chat.example.org");
        assert_eq!(mail.subject, "New message in your latchkey inbox");
    }
}

#[cfg(test)]
mod tls_tests {
    use super::{MailError, Mailer};
    use crate::config::{Config, MailTransportKind, SmtpSecurity};

    #[test]
    fn tls_failures_keep_the_mail_and_say_what_failed() {
        let refused = MailError::Certificate {
            reason: "certificate expired".into(),
        };
        assert!(!refused.is_permanent());
        assert_eq!(
            refused.to_string(),
            "mail relay's TLS certificate was refused: certificate expired"
        );
        assert!(!MailError::Tls { reason: "x".into() }.is_permanent());
    }

    #[tokio::test]
    async fn a_ca_file_gone_since_the_start_is_a_tls_error() {
        let mut config = Config::default();
        config.mail.transport = MailTransportKind::Smtp;
        config.mail.smtp.security = SmtpSecurity::Tls;
        config.mail.smtp.ca_file = Some("/nonexistent/relay-ca.pem".into());
        let Err(error) = Mailer::from_config(&config.mail) else {
            panic!("built without its authorities");
        };
        assert!(matches!(error, MailError::Tls { .. }), "{error}");
        assert!(error.to_string().contains("mail.smtp.ca_file"), "{error}");
        config.mail.smtp.ca_file = None;
        assert!(Mailer::from_config(&config.mail).is_ok());
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
