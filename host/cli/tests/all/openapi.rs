//! The OpenAPI document at `/api/openapi.json` against the host that serves it: schemathesis
//! (from PyPI; `scripts/setup.sh` installs it) generates requests for every operation — valid,
//! invalid, without the token, with unsupported methods, and sequences that follow one answer
//! with the next request — and checks every answer against the document.

use std::path::Path;
use std::process::Command;

use crate::http::Http;
use crate::up::Up;

#[test]
fn the_openapi_document_holds_for_the_running_host() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/openapi");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    std::fs::copy(testdata.join("p/main.hops"), dir.path().join("p/main.hops")).unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        hops_test_plugins::ECHO,
        dir.path().join("plugins/echo.wasm"),
    )
    .unwrap();
    let token = "schemathesis-token";
    let up = Up::start_with(dir.path(), &[("HOPS_API_TOKEN", token)]);

    // Something to find: a finished run, and a run waiting on an open input.
    let http = Http::new(&up.api);
    let auth = format!("Bearer {token}");
    let (status, _) = http.post(
        "/api/events",
        &[("authorization", &auth)],
        r#"{"hops": {"source": "test", "event": "ping"}}"#,
    );
    assert_eq!(status, 202);
    let (status, _) = http.post(
        "/api/tasks/deploy/runs",
        &[("authorization", &auth)],
        r#"{"service": "billing"}"#,
    );
    assert_eq!(status, 202);

    // Schemathesis keeps its example database in the working directory.
    let scratch = tempfile::tempdir().unwrap();
    // One seed, so a run is repeatable; `HOPS_SCHEMATHESIS_SEED=random` explores further.
    let seed = std::env::var("HOPS_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261202".to_owned());
    let mut schemathesis = Command::new("schemathesis");
    schemathesis
        .arg("--config-file")
        .arg(testdata.join("schemathesis.toml"))
        .arg("run")
        .arg(format!("{}/api/openapi.json", up.api))
        .args(["-H", &format!("Authorization: {auth}")]);
    if seed != "random" {
        schemathesis.args(["--seed", &seed]);
    }
    let ran = schemathesis
        .current_dir(scratch.path())
        .arg("--no-color")
        .output()
        .unwrap_or_else(|err| {
            panic!("cannot run schemathesis ({err}); install it with scripts/setup.sh or `pip install schemathesis`")
        });
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success(),
        "schemathesis found failures:\n{stdout}\n{}\nhost log:\n{}",
        String::from_utf8_lossy(&ran.stderr),
        up.log()
    );
    assert!(stdout.contains("passed"), "{stdout}");
}
