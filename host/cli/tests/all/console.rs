//! The web console in a real browser: `tests/browser/console.mjs` drives Debian's headless
//! Chromium through playwright-core (both installed by `scripts/setup.sh`) against hosts started
//! here on `testdata/console`: task forms (URL pre-fill, browser and server field errors), live
//! timelines, answering inputs, the runs list, replay previews, apps, problems, a 390 px wide
//! screen, keyboard use, and a host with a token. Screenshots go to
//! `target/test-artifacts/console/` (or `$HOPS_TEST_ARTIFACTS/console/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::up::Up;

fn artifacts() -> PathBuf {
    hops_testutil::artifacts_dir().join("console")
}

/// A project directory with the console's pipelines, the echo app and an app that cannot load.
fn project() -> tempfile::TempDir {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/console/p");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    for file in ["main.hops", "stale.hops"] {
        std::fs::copy(testdata.join(file), dir.path().join("p").join(file)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        hops_test_plugins::ECHO,
        dir.path().join("plugins/echo.wasm"),
    )
    .unwrap();
    std::fs::write(dir.path().join("plugins/broken.wasm"), "not a component").unwrap();
    dir
}

#[test]
fn the_console_works_in_a_browser() {
    let open = project();
    let guarded = project();
    let token = "console-token";
    let up = Up::start(open.path());
    let guarded_up = Up::start_with(guarded.path(), &[("HOPS_API_TOKEN", token)]);

    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed; run scripts/setup.sh (npm ci in {})",
        browser_dir.display()
    );
    let chromium = std::env::var("HOPS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no browser at {chromium}; run scripts/setup.sh (apt-get install chromium) or set HOPS_CHROMIUM"
    );
    let artifacts = artifacts();
    let _ = std::fs::remove_dir_all(&artifacts);
    let ran = Command::new("node")
        .arg("console.mjs")
        .current_dir(&browser_dir)
        .env("HOPS_CONSOLE_URL", &up.api)
        .env("HOPS_CONSOLE_PIPELINES", open.path().join("p"))
        .env("HOPS_CONSOLE_ARTIFACTS", &artifacts)
        .env("HOPS_CONSOLE_TOKEN_URL", &guarded_up.api)
        .env("HOPS_CONSOLE_TOKEN", token)
        .env("HOPS_CHROMIUM", &chromium)
        .output()
        .unwrap_or_else(|err| panic!("cannot run node ({err}); run scripts/setup.sh"));
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(
        ran.status.success(),
        "the browser test failed (screenshots in {}):\n{stdout}\n{stderr}\nhost log:\n{}",
        artifacts.display(),
        up.log()
    );
    assert!(stdout.contains("every step passed"), "{stdout}");
    for shot in [
        "desktop-task-form-errors.png",
        "desktop-server-field-error.png",
        "desktop-run-completed.png",
        "desktop-replay-preview.png",
        "phone-runs.png",
        "phone-run.png",
        "desktop-token-refused.png",
    ] {
        assert!(artifacts.join(shot).is_file(), "no screenshot {shot}");
    }
}
