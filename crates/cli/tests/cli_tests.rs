//! Snapshots of what the `latchkey` binary prints without a server: every
//! `--help`, `--version`, and the failures a user meets first, each with
//! its exit code (`tests/cmd/*.toml`; `TRYCMD=overwrite` rewrites the
//! expected output after a deliberate change).

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new()
        .register_bin(
            "latchkey",
            std::path::Path::new(env!("CARGO_BIN_EXE_latchkey")),
        )
        .case("tests/cmd/*.toml");
}
