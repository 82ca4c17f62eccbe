//! `mail.smtp.ca_file`: the certificate authorities that sign an internal
//! relay's certificate, trusted besides the public ones. The file is read
//! when the configuration is checked, so that one that is missing,
//! unreadable or holds no certificate stops the start naming the setting
//! (and never quoting the file: it may be a key chosen by mistake); the
//! mailer reads it again to build its TLS settings.

use std::io::Read;
use std::path::Path;

use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};

use super::{Config, ConfigError, MailTransportKind, SmtpSecurity};

/// A file of authorities holds a few certificates (a system bundle about
/// 200 KB); anything larger is the wrong file, and a device such as
/// `/dev/zero` must not be read forever.
const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// How a PEM certificate block starts.
const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// The certificates in the PEM file at `path`: at least one, each one a
/// certificate the TLS library takes as an authority.
pub fn read_ca_file(path: &Path) -> Result<Certificate, ConfigError> {
    let problem =
        |what: &str| ConfigError::Invalid(format!("mail.smtp.ca_file: {} {what}", path.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| problem(&format!("cannot be read ({e})")))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_BYTES {
        return Err(problem(
            "is larger than 4 MiB: not a file of certificate authorities",
        ));
    }
    if !bytes.windows(BEGIN.len()).any(|window| window == BEGIN) {
        return Err(problem(
            "holds no PEM certificate (a block that starts with -----BEGIN CERTIFICATE-----); \
             a DER file converts with `openssl x509 -inform der -in FILE -out FILE.pem`",
        ));
    }
    let unreadable = || {
        problem(
            "holds a certificate block that cannot be read (damaged, or not an X.509 \
             certificate)",
        )
    };
    let certificate = Certificate::from_pem(&bytes).map_err(|_| unreadable())?;
    // Added to an empty store as the mailer adds it to the public roots:
    // this is where a block that decodes but is no certificate shows.
    TlsParameters::builder("localhost".into())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(certificate.clone())
        .build()
        .map_err(|_| unreadable())?;
    Ok(certificate)
}

impl Config {
    /// A set `mail.smtp.ca_file` is read now, so that a bad file stops the
    /// start before anything else happens; without TLS it would never be
    /// used, which is said rather than ignored.
    pub(super) fn validate_ca_file(&self) -> Result<(), ConfigError> {
        let smtp = &self.mail.smtp;
        let Some(path) = &smtp.ca_file else {
            return Ok(());
        };
        if self.mail.transport == MailTransportKind::Smtp && smtp.security == SmtpSecurity::None {
            return Err(ConfigError::Invalid(
                "mail.smtp.ca_file is set, but mail.smtp.security = none uses no TLS, so the \
                 file would never be used: set security to starttls or tls, or remove ca_file"
                    .into(),
            ));
        }
        read_ca_file(path).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load_env;

    /// A self-signed authority made for these tests (its key is gone).
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUI1SbAZsYQxQGIqrx9fAN9EwMUTYwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXbGF0Y2hrZXkgY29uZmlnIHRlc3QgQ0EwIBcNMjYxMTMwMTk1
NzUzWhgPMjEyNjExMDYxOTU3NTNaMCIxIDAeBgNVBAMMF2xhdGNoa2V5IGNvbmZp
ZyB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDyKLJUYWdBXjhsDg
U+WLqh4ShnrMNi3MDE79qRpBzC71KYtwwfsm4SHY5uDrcQuRORVRnor05e6UcKgJ
hIIIJKNTMFEwHQYDVR0OBBYEFG0vpbd4P59YNjGEd2LGtltTTdpBMB8GA1UdIwQY
MBaAFG0vpbd4P59YNjGEd2LGtltTTdpBMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDSAAwRQIhALcSxItTP3rwmQMcoOup+0g0nCMaA/aSrHU9djVRAJhKAiBS
4hEBZ6sidF6kAJa1ADcJpgCWf3p1g4dsmD+N8bfeEg==
-----END CERTIFICATE-----
";

    /// Loads the configuration with `ca_file` holding `contents`.
    fn with_file(contents: &str, security: &str) -> Result<crate::config::Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay-ca.pem");
        std::fs::write(&path, contents).unwrap();
        load_env(&[
            ("LATCHKEY_MAIL__SMTP__CA_FILE", path.to_str().unwrap()),
            ("LATCHKEY_MAIL__SMTP__SECURITY", security),
        ])
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_file_of_one_or_more_certificates_is_taken() {
        assert_eq!(load_env(&[]).unwrap().mail.smtp.ca_file, None);
        let config = with_file(CA, "starttls").unwrap();
        assert!(config.mail.smtp.ca_file.is_some());
        // A bundle, with the comments `openssl` and distributions put
        // between the blocks.
        let bundle = format!("# internal relay CA\n{CA}\nsubject=CN = another\n{CA}");
        assert!(with_file(&bundle, "tls").is_ok());
    }

    #[test]
    fn a_bad_file_names_the_setting_and_quotes_nothing_of_it() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n\
                   -----END PRIVATE KEY-----\n";
        let damaged = CA.replace("MIIBmzCCAUGg", "MIIBmzCCAUGh");
        let not_base64 = "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n";
        let not_der = "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n";
        let cut = &CA[..CA.len() / 2];
        for (contents, expected) in [
            (key, "holds no PEM certificate"),
            ("", "holds no PEM certificate"),
            (damaged.as_str(), "cannot be read"),
            (not_base64, "cannot be read"),
            (not_der, "cannot be read"),
            (cut, "cannot be read"),
        ] {
            let err = with_file(contents, "starttls").unwrap_err();
            assert!(err.contains("mail.smtp.ca_file: "), "{err}");
            assert!(err.contains("relay-ca.pem"), "{err}");
            assert!(err.contains(expected), "{contents:?}: {err}");
            for quoted in ["MIGHAgEA", "MIIBmz", "%%%%"] {
                assert!(!err.contains(quoted), "{err}");
            }
        }
        let err = load_env(&[("LATCHKEY_MAIL__SMTP__CA_FILE", "/nonexistent/ca.pem")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mail.smtp.ca_file: /nonexistent/ca.pem cannot be read"),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_tls_is_a_contradiction() {
        let err = with_file(CA, "none").unwrap_err();
        assert!(err.contains("security = none uses no TLS"), "{err}");
    }
}
