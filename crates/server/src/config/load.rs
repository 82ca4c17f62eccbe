//! The layering: defaults, then the TOML file, then `LATCHKEY_*` variables
//! (`*_FILE` variables read the value from a file; the command-line
//! client's variables are skipped). Every name is checked against the list
//! of settings, and one that is none is refused with a suggestion.

use std::collections::BTreeMap;
use std::path::Path;

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::Figment;

use super::settings::{Kind, Setting};
use super::suggest::suggestion;
use super::{cli_vars, Config, ConfigError};

/// Where a value came from, for error messages.
fn origin_text(origins: &BTreeMap<String, String>, key: &str) -> String {
    origins
        .get(key)
        .cloned()
        .unwrap_or_else(|| format!("{key} (default)"))
}

impl Config {
    /// Layers defaults (the dev profile if `dev`), `file` (if given) and the
    /// process environment.
    pub fn load(file: Option<&Path>, dev: bool) -> Result<Config, ConfigError> {
        let defaults = if dev {
            Config::dev_defaults()
        } else {
            Config::default()
        };
        // `vars()` would panic on a name or value that is not UTF-8.
        let env = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            Some((name, value.to_string_lossy().into_owned()))
        });
        Self::load_from(defaults, file, env)
    }

    /// As [`Config::load`], with the defaults and environment given
    /// explicitly (tests).
    pub fn load_from(
        defaults: Config,
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let settings = defaults.settings();
        drop(defaults);
        let find = |key: &str| settings.iter().find(|s| s.key == key);
        let mut tree = Dict::new();
        for setting in &settings {
            if let Some(value) = &setting.default {
                insert(&mut tree, setting.key, value.clone());
            }
        }
        // Where each non-default value came from, by key.
        let mut origins: BTreeMap<String, String> = BTreeMap::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Load(format!(
                    "the file {} does not exist",
                    path.display()
                )));
            }
            let data: Dict = Figment::from(Toml::file(path))
                .extract()
                .map_err(|e| ConfigError::Load(format!("{}: {}", path.display(), e.kind)))?;
            let mut leaves = Vec::new();
            flatten(&data, "", &settings, &mut leaves).map_err(|key| {
                ConfigError::Unknown(format!(
                    "`{key}` in {} is not a setting{}",
                    path.display(),
                    suggestion(&key, settings.iter().map(|s| s.key.to_owned()), "`")
                ))
            })?;
            for (key, value) in leaves {
                origins.insert(key.clone(), format!("`{key}` in {}", path.display()));
                insert(&mut tree, &key, value);
            }
        }
        // Not figment's Env provider: it reads the process environment, and
        // tests (and `*_FILE` values) need an explicit list.
        for (name, value) in env {
            if !name.starts_with("LATCHKEY_") || cli_vars::is_not_a_setting(&name) {
                continue;
            }
            let key_of = |name: &str| {
                name.trim_start_matches("LATCHKEY_")
                    .to_lowercase()
                    .replace("__", ".")
            };
            let (setting, value) = if let Some(setting) = find(&key_of(&name)) {
                (setting, value)
            } else if let Some(setting) = name.strip_suffix("_FILE").and_then(|n| find(&key_of(n)))
            {
                let contents = std::fs::read_to_string(&value)
                    .map_err(|e| ConfigError::Load(format!("{name}: cannot read {value}: {e}")))?;
                (setting, contents.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                let candidates = settings
                    .iter()
                    .map(Setting::variable)
                    .chain(cli_vars::ALL.iter().map(|&v| v.to_owned()));
                return Err(ConfigError::Unknown(format!(
                    "{name} is not a setting{}",
                    suggestion(&name, candidates, "")
                )));
            };
            let value = env_value(&name, setting.kind, value)?;
            origins.insert(setting.key.to_owned(), name);
            insert(&mut tree, setting.key, value);
        }
        let config: Config = Figment::from(Serialized::defaults(tree))
            .extract()
            .map_err(|errors| {
                let first = errors.into_iter().next();
                let text = first.map_or_else(String::new, |e| {
                    let key = e.path.join(".");
                    format!("{}: {}", origin_text(&origins, &key), e.kind)
                });
                ConfigError::Load(text)
            })?;
        config.validate()?;
        Ok(config)
    }
}

/// Puts `value` at the dotted `key`, making the sections on the way.
fn insert(tree: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            tree.insert(key.to_owned(), value);
        }
        Some((section, rest)) => {
            let entry = tree
                .entry(section.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, dict) = entry {
                insert(dict, rest, value);
            }
        }
    }
}

/// The file's values as (dotted key, value), each key a setting; `Err` is
/// the first key that is none.
fn flatten(
    dict: &Dict,
    prefix: &str,
    settings: &[Setting],
    out: &mut Vec<(String, Value)>,
) -> Result<(), String> {
    for (name, value) in dict {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let section = format!("{key}.");
        if settings.iter().any(|s| s.key == key) {
            out.push((key, value.clone()));
        } else if let (Value::Dict(_, inner), true) =
            (value, settings.iter().any(|s| s.key.starts_with(&section)))
        {
            flatten(inner, &key, settings, out)?;
        } else {
            return Err(key);
        }
    }
    Ok(())
}

/// A value from the environment as its setting's kind needs it: the
/// setting decides, so that a numeric-looking password stays text.
fn env_value(name: &str, kind: Kind, text: String) -> Result<Value, ConfigError> {
    match kind {
        Kind::Text | Kind::Duration(_) => Ok(Value::from(text)),
        Kind::Number => {
            text.trim().parse::<u64>().map(Value::from).map_err(|_| {
                ConfigError::Load(format!("{name} must be a whole number, not {text:?}"))
            })
        }
        Kind::Flag => match text.trim() {
            "true" | "1" => Ok(Value::from(true)),
            "false" | "0" => Ok(Value::from(false)),
            _ => Err(ConfigError::Load(format!(
                "{name} must be true or false, not {text:?}"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::{cli_vars, Config};
    use crate::config::test_support::{env, load_env, load_file};
    use crate::config::SecretString;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(
            &path,
            "public_url = \"https://chat.example.org\"\n[links]\ngrace_secs = 60\n",
        )
        .unwrap();
        let secret = dir.path().join("smtp-password");
        std::fs::write(&secret, "hunter2\n").unwrap();
        let config = Config::load_from(
            Config::default(),
            Some(&path),
            env(&[
                ("LATCHKEY_LINKS__GRACE_SECS", "30"),
                ("LATCHKEY_MAIL__SMTP__HOST", "relay.example.org"),
                ("LATCHKEY_MAIL__SMTP__USERNAME", "12345"),
                (
                    "LATCHKEY_MAIL__SMTP__PASSWORD_FILE",
                    secret.to_str().unwrap(),
                ),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.public_url, "https://chat.example.org");
        assert_eq!(config.links.grace, Duration::from_secs(30));
        assert_eq!(config.mail.smtp.host, "relay.example.org");
        assert_eq!(config.mail.smtp.username.as_deref(), Some("12345"));
        assert_eq!(
            config.mail.smtp.password.as_ref().map(SecretString::expose),
            Some("hunter2")
        );
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(config.public_origin(), "https://chat.example.org");
        // `secrets_file` ends in `_FILE` but is a setting of its own.
        let config = load_env(&[("LATCHKEY_SECRETS_FILE", "/keys/latchkey.key")]).unwrap();
        assert_eq!(config.secrets_file, PathBuf::from("/keys/latchkey.key"));
    }

    #[test]
    fn the_command_line_clients_variables_are_not_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.toml");
        std::fs::write(&file, "[links]\nttl_secs = \"2d\"\n").unwrap();
        // The README's walk-through, exported in the shell that runs serve.
        let config = Config::load_from(
            Config::default(),
            Some(&file),
            env(&[
                (cli_vars::SERVER, "http://127.0.0.1:8080"),
                (cli_vars::PASSWORD, "a long passphrase"),
                (cli_vars::HANDLE, "bob"),
                (cli_vars::CONFIG, file.to_str().unwrap()),
                (cli_vars::RECOVERY_KEY, "LKR1-…"),
                (cli_vars::MEMBER_CODE, "let me in"),
                ("LATCHKEY_TEST_POSTGRES_URL", "postgres://postgres@x/y"),
            ]),
        )
        .unwrap();
        assert_eq!(config.links.ttl, Duration::from_secs(2 * 24 * 3600));
        assert!(config.registration_code.is_none());
        // No client variable doubles as a setting: each has one reader.
        let settings = Config::default().settings();
        for name in cli_vars::ALL.iter().chain(cli_vars::TEST_TOOLS) {
            assert!(
                !settings.iter().any(|s| s.variable() == *name),
                "{name} is a setting too"
            );
        }
        // The server's registration code is a setting, not a client variable.
        let config = load_env(&[("LATCHKEY_REGISTRATION_CODE", "1234")]).unwrap();
        assert_eq!(
            config.registration_code.as_ref().map(SecretString::expose),
            Some("1234")
        );
    }

    #[test]
    fn bad_values_name_the_variable_and_hide_secrets() {
        let err = load_env(&[("LATCHKEY_MAIL__SMTP__PORT", "twenty-five")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("LATCHKEY_MAIL__SMTP__PORT must be a whole number"),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_MAIL__SMTP__PORT", "70000")]).unwrap_err();
        assert!(
            err.to_string().contains("LATCHKEY_MAIL__SMTP__PORT: "),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_DEV", "yes")]).unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");
        let err = load_env(&[("LATCHKEY_MAIL__SECURITY", "tls")]).unwrap_err();
        assert!(err.to_string().contains("SMTP__SECURITY?"), "{err}");
        // A numeric secret in the file is text, never "found 987654".
        let config = load_file("registration_code = 987654\n").unwrap();
        assert_eq!(
            config.registration_code.as_ref().map(SecretString::expose),
            Some("987654")
        );
        let err = load_file("registration_code = 987654\nbind = \"nowhere\"\n").unwrap_err();
        assert!(!err.to_string().contains("987654"), "{err}");
    }
}
