//! Apps in a running `hops up`: a pipeline across Rust, Python and JavaScript apps, the github
//! listener's signed webhooks, a trapping listener, and `hops plugins`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::Http;
use crate::up::{HOPS, Up};

const SECRET: &str = "s3cret-for-tests";

const PIPELINES: &str = r#"
on polyglot {
  name = "polyglot"
  call upper_upper {
    name   = "shout"
    inputs = { text = event.text }
  }
  call pyecho_tag {
    name   = "py"
    if     = shout.completed
    inputs = { text = shout.json.text }
  }
  call jsecho_tag {
    name   = "js"
    if     = py.completed
    inputs = { text = py.json.text }
  }
}

on pullrequest_opened {
  name = "triage"
  call echo_echo {
    name   = "seen"
    inputs = { number = event.number, repo = event.repository.name }
  }
}
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("apps")).unwrap();
    std::fs::write(dir.path().join("apps/main.hops"), PIPELINES).unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for (name, path) in [
        ("upper", hops_test_plugins::UPPER),
        ("pyecho", hops_test_plugins::PYECHO),
        ("jsecho", hops_test_plugins::JSECHO),
        ("echo", hops_test_plugins::ECHO),
        ("github", hops_test_plugins::GITHUB),
        ("hook", hops_test_plugins::HOOK),
    ] {
        std::fs::copy(path, plugins.join(format!("{name}.wasm"))).unwrap();
    }
    std::fs::write(plugins.join("hook.toml"), "poll-interval = \"100ms\"\n").unwrap();
    std::fs::write(
        plugins.join("github.toml"),
        "[secrets]\nsecret = \"HOPS_TEST_GITHUB_SECRET\"\n",
    )
    .unwrap();
    dir
}

fn webhook(http: &Http, delivery: &str, body: &str, signature: &str) -> (u16, String) {
    http.post(
        "/listen/github/webhook",
        &[
            ("content-type", "application/json"),
            ("x-github-event", "pull_request"),
            ("x-github-delivery", delivery),
            ("x-hub-signature-256", signature),
        ],
        body,
    )
}

#[test]
fn rust_python_and_js_apps_a_signed_webhook_and_a_trapping_listener_in_one_host() {
    let dir = project();
    let up = Up::start_with(dir.path(), &[("HOPS_TEST_GITHUB_SECRET", SECRET)]);
    let http = Http::new(&up.api);

    // Three steps, three languages, each result feeding the next step's inputs.
    let sent = up.hops(&[
        "event",
        "send",
        "--source",
        "t",
        "--event",
        "polyglot",
        "--data",
        r#"{"text": "hello"}"#,
        "--wait",
        "--json",
    ]);
    assert!(
        sent.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&sent.stdout),
        up.log()
    );
    let accepted: Value = serde_json::from_slice(&sent.stdout).unwrap();
    let view = http.wait_run(accepted["run_id"].as_str().unwrap());
    assert_eq!(view["status"], "completed", "{view:#}");
    let results: Vec<&Value> = view["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["result"])
        .collect();
    assert_eq!(results[0]["text"], "HELLO");
    assert_eq!(results[1], &json!({"text": "HELLO (python)"}));
    assert_eq!(results[2], &json!({"text": "HELLO (python) (js)"}));

    // A signed webhook starts a run that reaches done; the same delivery again starts nothing.
    let body =
        json!({"action": "opened", "number": 42, "repository": {"name": "hops"}}).to_string();
    let signature = hops_testutil::github_signature(SECRET.as_bytes(), body.as_bytes());
    let (status, answer) = webhook(&http, "delivery-1", &body, &signature);
    assert!(
        (200..300).contains(&status),
        "{status} {answer}\n{}",
        up.log()
    );
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let run_id = answer["run_id"].as_str().unwrap().to_owned();
    let view = http.wait_run(&run_id);
    assert_eq!(view["status"], "completed", "{view:#}");
    assert_eq!(
        view["event"]["hops"],
        json!({"source": "github", "event": "pullrequest", "action": "opened"})
    );
    assert_eq!(
        view["calls"][0]["inputs"],
        json!({"number": 42, "repo": "hops"})
    );
    let runs_before = http.run_count();
    let (status, again) = webhook(&http, "delivery-1", &body, &signature);
    assert!((200..300).contains(&status), "{status} {again}");
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["run_id"], run_id.as_str());

    // A wrong signature: 401, no run.
    let forged = hops_testutil::github_signature(b"not the secret", body.as_bytes());
    let (status, _) = webhook(&http, "delivery-2", &body, &forged);
    assert_eq!(status, 401);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        http.run_count(),
        runs_before,
        "neither a redelivery nor a forged webhook may start a run"
    );

    // The host ticks a listener on its poll interval.
    let deadline = Instant::now() + Duration::from_secs(30);
    while http
        .get_text("/listen/hook/ticks")
        .trim()
        .parse::<u64>()
        .unwrap_or(0)
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the hook listener was not ticked\n{}",
            up.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A listener that traps is reported; workers keep serving.
    let (status, answer) = http.post("/listen/hook/trap", &[], "");
    assert!(status >= 500, "{status} {answer}");
    assert!(answer.contains("hook"), "{answer}");
    let sent = up.hops(&[
        "event",
        "send",
        "--source",
        "t",
        "--event",
        "polyglot",
        "--data",
        r#"{"text": "still"}"#,
        "--wait",
        "--json",
    ]);
    assert!(sent.status.success(), "{}", up.log());

    // `hops plugins list` shows every app, its world and version.
    let listed = up.hops(&["plugins", "list", "--json"]);
    let apps: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let names: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    // The native Kubernetes runner is listed too, after the wasm apps, whether a cluster
    // was found or not.
    assert_eq!(
        names,
        ["echo", "github", "hook", "jsecho", "pyecho", "upper", "k8s"]
    );
    let k8s = &apps.as_array().unwrap()[6];
    assert_eq!(k8s["kind"], "native", "{k8s}");
    assert!(
        apps.as_array()
            .unwrap()
            .iter()
            .all(|a| a["version"].is_string())
    );
    let human = up.hops(&["plugins", "list"]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("github") && human.contains("listener"),
        "{human}"
    );
    up.terminate();
}

#[test]
fn plugins_inspect_tells_what_a_file_is() {
    let fits = Command::new(HOPS)
        .args(["plugins", "inspect", hops_test_plugins::ECHO])
        .output()
        .unwrap();
    assert!(fits.status.success());
    let text = String::from_utf8_lossy(&fits.stdout);
    assert!(text.contains("worker"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not wasm at all").unwrap();
    let bad = Command::new(HOPS)
        .args(["plugins", "inspect"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let missing = Command::new(HOPS)
        .args(["plugins", "inspect"])
        .arg(Path::new("/nonexistent/app.wasm"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/app.wasm"));
}
