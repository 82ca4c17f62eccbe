//! The `LATCHKEY_…` variables that are not server settings. Configuration
//! loading skips exactly these; every other `LATCHKEY_…` variable must be a
//! setting. The command-line client takes its variable names from here, and
//! a test checks that no name here is also a setting.

/// `--config` of `init`, `serve` and `migrate`: the TOML file.
pub const CONFIG: &str = "LATCHKEY_CONFIG";
/// `--server` of the member and guest commands.
pub const SERVER: &str = "LATCHKEY_SERVER";
/// `--handle` of the member commands.
pub const HANDLE: &str = "LATCHKEY_HANDLE";
/// The member's password (asked on the terminal when unset).
pub const PASSWORD: &str = "LATCHKEY_PASSWORD";
/// `member recover`: the recovery key (asked when unset).
pub const RECOVERY_KEY: &str = "LATCHKEY_RECOVERY_KEY";
/// `member add --code`: the registration code to register with. Not
/// `LATCHKEY_REGISTRATION_CODE`: that one is the server's setting (the
/// code it demands), and one variable read by both would quietly make a
/// member's `serve --dev` demand the code he meant to give elsewhere.
pub const MEMBER_CODE: &str = "LATCHKEY_MEMBER_CODE";

/// Every variable of the command-line client.
pub const ALL: &[&str] = &[CONFIG, SERVER, HANDLE, PASSWORD, RECOVERY_KEY, MEMBER_CODE];

/// Variables of the project's test tools (a developer may keep them
/// exported while running the server).
pub const TEST_TOOLS: &[&str] = &["LATCHKEY_TEST_POSTGRES_URL", "LATCHKEY_WRITE_VECTORS"];

/// Whether configuration loading leaves `name` alone.
pub fn is_not_a_setting(name: &str) -> bool {
    ALL.contains(&name) || TEST_TOOLS.contains(&name)
}
