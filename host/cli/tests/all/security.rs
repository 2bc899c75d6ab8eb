//! The security suite, in one place, against a real `hops up` (real nats-server, real wasm
//! apps): the API refuses every operation without its token and changes nothing; webhooks
//! need their signature and a replayed delivery starts no second run; secrets never show in
//! the log at any level, on stdout, in run records, API answers or anything NATS stored; and
//! every way out of the sandbox (files, environment, sockets, HTTP without a grant or through
//! a redirect, CPU, memory, stack, a trap, an import the host does not provide) ends its own
//! call errored with a clear message while the other apps keep serving.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hops_testutil::github_signature;
use hops_testutil::scripted::{Scripted, reply};
use serde_json::{Value, json};

use crate::http::Http;
use crate::up::{HOPS, Up};

/// A project: `p/main.hops` holding `pipelines`, and `plugins/` with each `(name, wasm,
/// toml)`.
pub fn project(pipelines: &str, apps: &[(&str, &[u8], Option<&str>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    std::fs::write(dir.path().join("p/main.hops"), pipelines).unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for (name, wasm, toml) in apps {
        std::fs::write(plugins.join(format!("{name}.wasm")), wasm).unwrap();
        if let Some(toml) = toml {
            std::fs::write(plugins.join(format!("{name}.toml")), toml).unwrap();
        }
    }
    dir
}

pub fn plugin(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn event(name: &str, fields: Value) -> Value {
    let mut event = fields;
    event["hops"] = json!({"source": "security", "event": name});
    event
}

/// The error of the run's only call.
fn call_error(view: &Value) -> String {
    view["calls"][0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("the call has no error: {view:#}"))
        .to_owned()
}

const TOKEN: &str = "api-t0ken-under-test";

// ---------------------------------------------------------------------------------------------
// API authentication

/// Served to anyone, as the OpenAPI document itself says.
const PUBLIC: &[&str] = &["/health", "/ready", "/metrics", "/api/openapi.json"];

/// Every state-changing operation the API has; the document must list each of them.
const STATE_CHANGING: &[&str] = &[
    "post /api/events",
    "post /api/tasks/{name}/runs",
    "post /api/runs/{id}/replay",
    "post /api/runs/purge",
    "post /api/runs/{id}/inputs/{call}",
];

#[test]
fn every_api_operation_refuses_callers_without_the_token_and_changes_nothing() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/openapi");
    let pipelines = std::fs::read_to_string(testdata.join("p/main.hops")).unwrap();
    let echo = plugin(hops_test_plugins::ECHO);
    let dir = project(&pipelines, &[("echo", &echo, None)]);
    let up = Up::start_with(dir.path(), &[("HOPS_API_TOKEN", TOKEN)]);
    let good = Http::with_token(&up.api, TOKEN);
    let anonymous = Http::new(&up.api);

    // Something for the operations to act on: a finished run and a run waiting on an input.
    let finished = good.send_event(&event("ping", json!({})));
    assert_eq!(good.wait_run(&finished)["status"], "completed");
    let (status, body) = good.post(
        "/api/tasks/deploy/runs",
        &[("content-type", "application/json")],
        r#"{"service": "billing"}"#,
    );
    assert_eq!(status, 202, "{body}");
    let waiting = serde_json::from_str::<Value>(&body).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    while good.get_json("/api/inputs").as_array().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the input never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = (
        good.get_json("/api/runs?limit=100"),
        good.get_json("/api/inputs"),
    );

    let doc = anonymous.get_json("/api/openapi.json");
    let paths = doc["paths"].as_object().expect("the document lists paths");
    let wrong = [
        None,
        Some(("authorization", "Bearer wrong".to_owned())),
        Some(("authorization", format!("Bearer {TOKEN}x"))),
        Some((
            "authorization",
            format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
        )),
        Some(("authorization", format!("Basic {TOKEN}"))),
        Some(("authorization", TOKEN.to_owned())),
        // No proxy header is configured, so none is trusted.
        Some(("x-forwarded-user", "admin".to_owned())),
        Some(("cookie", format!("token={TOKEN}"))),
    ];
    let mut refused = Vec::new();
    for (path, item) in paths {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let concrete = path
                .replace("{name}", "deploy")
                .replace("{id}", &waiting)
                .replace("{call}", "approval");
            let body = match path.as_str() {
                "/api/events" => event("ping", json!({})).to_string(),
                "/api/tasks/{name}/runs" => r#"{"service": "billing"}"#.to_owned(),
                "/api/runs/{id}/inputs/{call}" => r#"{"approve": true}"#.to_owned(),
                _ => "{}".to_owned(),
            };
            for query in ["", "?older_than=0s", &format!("?access_token={TOKEN}")] {
                for credential in &wrong {
                    let mut headers = vec![("content-type", "application/json")];
                    if let Some((name, value)) = credential {
                        headers.push((name, value.as_str()));
                    }
                    let (status, answer) = anonymous.request(
                        &method.to_uppercase(),
                        &format!("{concrete}{query}"),
                        &headers,
                        &body,
                    );
                    assert_eq!(
                        status, 401,
                        "{method} {concrete}{query} with {credential:?} was not refused: {answer}"
                    );
                    assert!(answer.contains("HOPS_API_TOKEN"), "{answer}");
                }
            }
            refused.push(format!("{method} {path}"));
        }
    }
    for operation in STATE_CHANGING {
        assert!(
            refused.iter().any(|r| r == operation),
            "{operation} is missing from the document or was not tried: {refused:?}"
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = (
        good.get_json("/api/runs?limit=100"),
        good.get_json("/api/inputs"),
    );
    assert_eq!(after, before, "a refused request changed something");

    // The refusals were about the token: the same answer with it goes through.
    let (status, body) = good.post(
        &format!("/api/runs/{waiting}/inputs/approval"),
        &[("content-type", "application/json")],
        r#"{"approve": true}"#,
    );
    assert!(status < 300, "{status}: {body}");
    assert_eq!(good.wait_run(&waiting)["status"], "completed");
    up.terminate();
}

// ---------------------------------------------------------------------------------------------
// Webhooks

const WEBHOOK_PIPELINES: &str = r#"
on pullrequest_opened {
  call echo_echo {
    inputs = { number = event.number }
  }
}
"#;

const HOOK_SECRET: &str = "hook-s3cret-under-test";

#[test]
fn a_webhook_needs_its_signature_and_a_replayed_delivery_starts_no_second_run() {
    let (echo, github) = (
        plugin(hops_test_plugins::ECHO),
        plugin(hops_test_plugins::GITHUB),
    );
    let toml = "[secrets]\nsecret = \"GH_HOOK_SECRET\"\n";
    let dir = project(
        WEBHOOK_PIPELINES,
        &[("echo", &echo, None), ("github", &github, Some(toml))],
    );
    let up = Up::start_with(
        dir.path(),
        &[("HOPS_API_TOKEN", TOKEN), ("GH_HOOK_SECRET", HOOK_SECRET)],
    );
    let good = Http::with_token(&up.api, TOKEN);
    let anonymous = Http::new(&up.api);
    let body = r#"{"action": "opened", "number": 42}"#;
    let signed = github_signature(HOOK_SECRET.as_bytes(), body.as_bytes());
    let deliver = |signature: Option<&str>, extra: &[(&str, &str)], body: &str| {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("x-github-event", "pull_request"),
            ("x-github-delivery", "delivery-1"),
        ];
        if let Some(signature) = signature {
            headers.push(("x-hub-signature-256", signature));
        }
        headers.extend_from_slice(extra);
        anonymous.post("/listen/github/", &headers, body)
    };

    let wrong_secret = github_signature(b"not-the-secret", body.as_bytes());
    let other_body = github_signature(HOOK_SECRET.as_bytes(), b"{}");
    let bearer = format!("Bearer {TOKEN}");
    // What is wrong, the signature header, other headers, what the refusal says.
    type Refusal<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let refusals: [Refusal; 5] = [
        ("missing", None, vec![], "missing X-Hub-Signature-256"),
        (
            "the API token instead",
            None,
            vec![("authorization", bearer.as_str())],
            "missing X-Hub-Signature-256",
        ),
        (
            "wrong secret",
            Some(&wrong_secret),
            vec![],
            "does not match",
        ),
        (
            "another body's",
            Some(&other_body),
            vec![],
            "does not match",
        ),
        ("malformed", Some("sha256=zz"), vec![], "malformed"),
    ];
    for (what, signature, extra, message) in &refusals {
        let (status, answer) = deliver(*signature, extra, body);
        assert_eq!(status, 401, "a {what} signature was not refused: {answer}");
        assert!(answer.contains(message), "{what}: {answer}");
    }
    // A signed body altered on the way.
    let (status, _) = deliver(Some(&signed), &[], r#"{"action": "opened", "number": 43}"#);
    assert_eq!(status, 401);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(good.run_count(), 0, "a refused delivery started a run");

    let (status, answer) = deliver(Some(&signed), &[], body);
    assert_eq!(status, 202, "{answer}");
    let first: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(first["duplicate"], false);
    let run = first["run_id"].as_str().unwrap().to_owned();
    let view = good.wait_run(&run);
    assert_eq!(view["status"], "completed", "{view:#}");
    assert_eq!(view["calls"][0]["result"], json!({"number": 42}));
    // The same delivery again (a replay, or GitHub's own redelivery): the same run, nothing new.
    for _ in 0..3 {
        let (status, answer) = deliver(Some(&signed), &[], body);
        assert_eq!(status, 202, "{answer}");
        let again: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(again["duplicate"], true, "{again}");
        assert_eq!(again["run_id"], run.as_str());
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(good.run_count(), 1, "a replayed delivery started a run");
    assert_eq!(good.wait_run(&run)["calls"].as_array().unwrap().len(), 1);
    up.terminate();
}

// ---------------------------------------------------------------------------------------------
// Secrets

const SECRET_PIPELINES: &str = r#"
on peek {
  call echo_config {
    name = "config"
  }
  call echo_fail {
    name   = "fail"
    if     = config.completed
    inputs = { message = "the token was ${config.json.token}" }
  }
}

on leak {
  call echo_leak {}
}

on hidden {
  call echo_echo {
    inputs = { value = env(event.var, "hidden") }
  }
}

on pullrequest_opened {
  call echo_echo {
    inputs = { number = event.number }
  }
}
"#;

const APP_SECRET: &str = "app-s3cret-under-test";
const HOST_SECRET: &str = "host-only-s3cret-under-test";

#[test]
fn secrets_never_show_in_logs_records_api_answers_or_what_nats_stored() {
    let (echo, github) = (
        plugin(hops_test_plugins::ECHO),
        plugin(hops_test_plugins::GITHUB),
    );
    let dir = project(
        SECRET_PIPELINES,
        &[
            (
                "echo",
                &echo,
                Some("[secrets]\ntoken = \"MY_APP_SECRET\"\n"),
            ),
            (
                "github",
                &github,
                Some("[secrets]\nsecret = \"GH_HOOK_SECRET\"\n"),
            ),
        ],
    );
    let secrets = [TOKEN, APP_SECRET, HOOK_SECRET, HOST_SECRET];
    // Every level of every crate but the code generator (whose trace is the machine code of
    // each app: nothing of a run passes through it).
    let everything = "trace,cranelift_codegen=info,cranelift_frontend=info,regalloc2=info,wasmtime_cranelift=info";
    let up = Up::start_with(
        dir.path(),
        &[
            ("HOPS_API_TOKEN", TOKEN),
            ("MY_APP_SECRET", APP_SECRET),
            ("GH_HOOK_SECRET", HOOK_SECRET),
            ("HOST_ONLY_SECRET", HOST_SECRET),
            ("HOPS_LOG", everything),
        ],
    );
    let http = Http::with_token(&up.api, TOKEN);
    let peek = http.send_event(&event("peek", json!({})));
    let leak = http.send_event(&event("leak", json!({})));
    // A name known only when the run starts (literal names are checked at load).
    let hidden = http.send_event(&event("hidden", json!({"var": "HOST_ONLY_SECRET"})));
    let refused = http.send_event(&event("hidden", json!({"var": "HOPS_API_TOKEN"})));
    let body = r#"{"action": "opened", "number": 7}"#;
    let (status, answer) = http.post(
        "/listen/github/",
        &[
            ("content-type", "application/json"),
            ("x-github-event", "pull_request"),
            ("x-github-delivery", "secret-test-1"),
            (
                "x-hub-signature-256",
                &github_signature(HOOK_SECRET.as_bytes(), body.as_bytes()),
            ),
        ],
        body,
    );
    assert_eq!(status, 202, "{answer}");
    let webhook = serde_json::from_str::<Value>(&answer).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let view = http.wait_run(&peek);
    assert_eq!(view["calls"][0]["result"]["token"], "***", "{view:#}");
    assert!(view.to_string().contains("the token was ***"), "{view:#}");
    let view = http.wait_run(&leak);
    assert_eq!(view["status"], "errored", "{view:#}");
    assert!(call_error(&view).starts_with("leak error result: token=***"));
    let view = http.wait_run(&hidden);
    assert_eq!(
        view["calls"][0]["result"],
        json!({"value": "hidden"}),
        "{view:#}"
    );
    let view = http.wait_run(&refused);
    assert_eq!(view["status"], "errored", "{view:#}");
    assert!(
        view.to_string().contains("Hops' own settings"),
        "the refusal says why: {view:#}"
    );
    assert_eq!(http.wait_run(&webhook)["status"], "completed");

    // Every answer the API gives about these runs and the host.
    let mut answers = vec![
        http.get_text("/api/runs?limit=100"),
        http.get_text("/api/inputs"),
        http.get_text("/api/apps"),
        http.get_text("/api/problems"),
        http.get_text("/api/tasks"),
        http.get_text("/metrics"),
    ];
    let runs = http.get_json("/api/runs?limit=100");
    let runs: Vec<String> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        runs.len() >= 6,
        "the leaked event started a run too: {runs:?}"
    );
    for run in &runs {
        answers.push(http.get_text(&format!("/api/runs/{run}")));
        for args in [
            vec!["runs", "show", run.as_str(), "--json"],
            vec!["runs", "show", run.as_str()],
            vec!["replay", run.as_str(), "--dry-run"],
        ] {
            let shown = Command::new(HOPS)
                .args(&args)
                .env("HOPS_API", &up.api)
                .env("HOPS_API_TOKEN", TOKEN)
                .output()
                .unwrap();
            answers.push(String::from_utf8_lossy(&shown.stdout).into_owned());
            answers.push(String::from_utf8_lossy(&shown.stderr).into_owned());
        }
    }
    for answer in &answers {
        for secret in secrets {
            assert!(!answer.contains(secret), "{secret} in an answer: {answer}");
        }
    }
    let stored = stream_bytes(&up);
    assert!(contains(&stored, leak.as_bytes()), "the stream was read");
    for secret in secrets {
        assert!(
            !contains(&stored, secret.as_bytes()),
            "{secret} is in the stream"
        );
    }

    let stdout_before_exit = up.stdout();
    let data = dir.path().join(".hops");
    let log = up.terminate();
    // The app's lines at every level made it into the log, masked.
    for level in ["trace", "debug", "info", "warn", "error"] {
        assert!(
            log.contains(&format!("leak {level}: token=***")),
            "the app's {level} line is not in the log"
        );
    }
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} is in the log");
        assert!(
            !stdout_before_exit.contains(secret),
            "{secret} is on stdout"
        );
    }
    // Nothing at rest either: every file NATS keeps (streams, consumers, key-value, objects).
    let mut files = 0;
    let mut bytes = 0;
    let mut seen_the_run = false;
    for file in files_under(&data) {
        let content = std::fs::read(&file).unwrap();
        files += 1;
        bytes += content.len();
        seen_the_run |= contains(&content, leak.as_bytes());
        for secret in secrets {
            assert!(
                !contains(&content, secret.as_bytes()),
                "{secret} is stored in {}",
                file.display()
            );
        }
    }
    assert!(
        seen_the_run,
        "the data directory holds the runs ({files} files, {bytes} bytes)"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Every stored message of the host's stream, headers and payload, concatenated (read with a
/// NATS client).
fn stream_bytes(up: &Up) -> Vec<u8> {
    let url = up.nats_url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream("HOPS").await.unwrap();
        let last = stream.cached_info().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            if let Ok(message) = stream.get_raw_message(seq).await {
                out.extend_from_slice(format!("{:?}", message.headers).as_bytes());
                out.extend_from_slice(&message.payload);
                out.push(b'\n');
            }
        }
        out
    })
}

// ---------------------------------------------------------------------------------------------
// The sandbox

const SANDBOX_PIPELINES: &str = r#"
on escape {
  call echo_escape {
    inputs = { path = event.path, env = event.env, url = event.url, tcp = event.tcp }
  }
}
on spin {
  call echo_spin {}
}
on hog {
  call echo_hog {}
}
on recurse {
  call echo_recurse {}
}
on trap {
  call echo_trap {}
}
on fetch {
  call http_do {
    inputs = { url = event.url, retries = 0 }
  }
}
on vault {
  call vault_get {}
}
on steady {
  call upper_upper {
    inputs = { text = event.text }
  }
}
on after {
  call echo_echo {
    inputs = { ok = true }
  }
}
"#;

/// A component that imports an interface no Hops host provides (and exports the worker
/// interface by name, so the import is what it is refused for).
const VAULT_WAT: &str = r#"(component
  (import "acme:vault/secrets@1.0.0" (instance $vault (export "get" (func))))
  (core module $m (func (export "handle")))
  (core instance $i (instantiate $m))
  (func $handle (canon lift (core func $i "handle")))
  (instance $worker (export "handle" (func $handle)))
  (export "hops:app/worker@0.1.0" (instance $worker)))"#;

#[test]
fn each_way_out_of_the_sandbox_errors_its_own_call_while_other_apps_keep_serving() {
    // Nothing may reach this port: no connection, no request.
    let forbidden = TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let port = forbidden.local_addr().unwrap().port();
    let forbidden_url = format!("http://127.0.0.1:{port}/");
    // The one granted host answers with a redirect to the forbidden one.
    let granted = Scripted::start(vec![reply(
        "302 Found",
        &[("Location", &format!("{forbidden_url}stolen"))],
        "",
    )]);
    let canary = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(canary.path(), "canary file").unwrap();

    let (echo, upper, http_app) = (
        plugin(hops_test_plugins::ECHO),
        plugin(hops_test_plugins::UPPER),
        plugin(hops_test_plugins::HTTP),
    );
    let vault = wat::parse_str(VAULT_WAT).unwrap();
    let grant = format!("allowed-hosts = [\"127.0.0.1:{}\"]\n", granted.port);
    let dir = project(
        SANDBOX_PIPELINES,
        &[
            (
                "echo",
                &echo,
                Some("timeout = \"2s\"\nmemory = \"32 MiB\"\n"),
            ),
            ("upper", &upper, None),
            ("http", &http_app, Some(&grant)),
            ("vault", &vault, None),
        ],
    );
    let up = Up::start_with(
        dir.path(),
        &[
            ("SANDBOX_CANARY", "canary-value"),
            ("HOPS_APP_WAIT_TIMEOUT", "3s"),
        ],
    );
    let pid = up.pid();
    let http = Http::new(&up.api);

    let canary_path = canary.path().display().to_string();
    let tcp = format!("127.0.0.1:{port}");
    let probes = [
        (
            "escape",
            json!({"path": canary_path, "env": "SANDBOX_CANARY", "url": forbidden_url, "tcp": tcp}),
        ),
        ("spin", json!({})),
        ("hog", json!({})),
        ("recurse", json!({})),
        ("trap", json!({})),
        ("fetch", json!({"url": forbidden_url})),
        ("fetch", json!({"url": granted.url("/start")})),
        ("vault", json!({})),
    ];
    let probe_runs: Vec<String> = probes
        .iter()
        .map(|(name, fields)| http.send_event(&event(name, fields.clone())))
        .collect();
    // Meanwhile another app serves as usual.
    let steady: Vec<String> = (0..20)
        .map(|i| http.send_event(&event("steady", json!({"text": format!("run {i}")}))))
        .collect();
    for (i, run) in steady.iter().enumerate() {
        let view = http.wait_run(run);
        assert_eq!(view["status"], "completed", "{view:#}");
        assert_eq!(
            view["calls"][0]["result"]["text"],
            format!("RUN {i}"),
            "{view:#}"
        );
    }

    let errors: Vec<String> = probe_runs
        .iter()
        .map(|run| {
            let view = http.wait_run(run);
            assert_eq!(view["status"], "errored", "{view:#}");
            call_error(&view)
        })
        .collect();
    let [escape, spin, hog, recurse, trap, direct, redirected, vault] = &errors[..] else {
        unreachable!()
    };
    for denied in [
        format!("file {canary_path}"),
        "env SANDBOX_CANARY".to_owned(),
        format!("tcp 127.0.0.1:{port}"),
        "udp bind".to_owned(),
        format!("http {forbidden_url} (denied by host)"),
    ] {
        assert!(escape.contains(&denied), "{denied:?} not denied: {escape}");
    }
    assert!(escape.starts_with("denied: "), "nothing got out: {escape}");
    assert!(!escape.contains("canary-value"), "{escape}");
    assert_eq!(spin, "app echo exceeded its 2s timeout");
    assert_eq!(hog, "app echo ran out of memory (limit 32 MiB)");
    assert!(recurse.contains("stack overflow"), "{recurse}");
    assert!(trap.starts_with("app echo trapped: "), "{trap}");
    let no_grant = format!("no grant for host 127.0.0.1:{port}");
    assert!(direct.contains(&no_grant), "{direct}");
    assert!(redirected.contains(&no_grant), "{redirected}");
    assert!(
        redirected.contains(&format!("redirected from {}", granted.url("/start"))),
        "{redirected}"
    );
    assert_eq!(granted.seen().len(), 1, "the granted host was asked once");
    assert!(
        vault.contains("imports what Hops does not provide: acme:vault/secrets@1.0.0"),
        "the call says why its app does not serve: {vault}"
    );
    assert!(
        matches!(forbidden.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "something connected to the forbidden port"
    );

    // The host and the contained app go on.
    let after = http.send_event(&event("after", json!({})));
    assert_eq!(http.wait_run(&after)["status"], "completed");
    let apps = http.get_text("/api/apps");
    assert!(apps.contains("acme:vault/secrets@1.0.0"), "{apps}");
    assert_eq!(up.pid(), pid);
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the host lives"
    );
    up.terminate();
}
