//! Helpers for the tests of the configuration's modules.

use super::{Config, ConfigError};

pub(super) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load_from(Config::default(), None, env(pairs))
}

pub(super) fn load_file(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latchkey.toml");
    std::fs::write(&path, text).unwrap();
    Config::load_from(Config::default(), Some(&path), env(&[]))
}
