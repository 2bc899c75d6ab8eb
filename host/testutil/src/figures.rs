//! Figures a test measured (times, rates, memory), printed and kept: `cargo test` hides what a
//! passing test prints, so each line is also appended to `figures.txt` in the test artifacts
//! directory, which `scripts/test.sh` prints at the end of the suite.

use std::io::Write as _;
use std::path::PathBuf;

/// `$HOPS_TEST_ARTIFACTS`, else `$CARGO_TARGET_DIR/test-artifacts`, else the workspace's
/// `target/test-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("HOPS_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("test-artifacts"))
        })
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts")
        })
}

/// Prints `line` and appends it to `figures.txt` in [`artifacts_dir`].
pub fn report_figure(line: &str) {
    println!("{line}");
    let dir = artifacts_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("figures.txt"))
    {
        let _ = writeln!(file, "{line}");
    }
}
