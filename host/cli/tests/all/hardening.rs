//! Hostile input against a real `hops up`: an expression bomb, a result too big for a NATS
//! message, and a pipeline that keeps re-triggering itself — each must cost its own run at
//! most, never the host. Secrets and the sandbox: `security.rs`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::Http;
use crate::up::Up;

/// A project with `main.hops` holding `pipelines` and the echo app (with `echo_toml`).
fn project(pipelines: &str, echo_toml: Option<&str>) -> tempfile::TempDir {
    let echo = crate::security::plugin(hops_test_plugins::ECHO);
    crate::security::project(pipelines, &[("echo", &echo, echo_toml)])
}

fn pid_alive(up: &Up) -> bool {
    Path::new(&format!("/proc/{}", up.pid())).exists()
}

const BOMB: &str = r#"
on bomb {
  call echo_echo {
    inputs = { pairs = [for a in event.items : [for b in event.items : "${a}-${b}"]] }
  }
}

on calm {
  call echo_echo {
    inputs = { ok = true }
  }
}
"#;

#[test]
fn an_expression_bomb_errors_its_own_run_and_the_host_lives_on() {
    let dir = project(BOMB, None);
    let up = Up::start(dir.path());
    let pid = up.pid();
    let http = Http::new(&up.api);
    // 5,000 strings of 40 characters: a 200 KB event asking for 25 million pairs.
    let items: Vec<String> = (0..5_000).map(|i| format!("{i:040}")).collect();
    let bomb = http.send_event(&json!({"items": items, "hops": {"source": "t", "event": "bomb"}}));
    let calm = http.send_event(&json!({"hops": {"source": "t", "event": "calm"}}));

    let view = http.wait_run(&calm);
    assert_eq!(view["status"], "completed", "{view:#}");
    let view = http.wait_run(&bomb);
    assert_eq!(view["status"], "errored", "{view:#}");
    let error = view["error"].as_str().unwrap_or_default();
    assert!(error.contains("evaluation budget exceeded"), "{error}");
    assert!(error.contains("--eval-max"), "the limit is named: {error}");

    // Reading the errored run is cheap: it is shown from what was recorded.
    let started = Instant::now();
    let again = http.get_json(&format!("/api/runs/{bomb}"));
    assert_eq!(again["status"], "errored");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let shown = up.hops(&["runs", "show", &bomb]);
    assert!(shown.status.success(), "{shown:?}");

    assert!(
        pid_alive(&up) && up.pid() == pid,
        "the host process survived"
    );
    let log = up.log();
    assert!(!log.contains("memory allocation"), "{log}");
    // Start-up (`/ready` answering 503 until the host is ready) logs nothing at ERROR.
    assert!(!log.contains("ERROR"), "{log}");
    up.terminate();
}

const BIG: &str = r#"
on big {
  call echo_big {
    inputs = { bytes = event.bytes }
  }
}
"#;

#[test]
fn a_result_over_the_message_size_is_stored_once_and_one_over_the_cap_errors_once() {
    let dir = project(BIG, Some("memory = \"256 MiB\"\n"));
    let up = Up::start_with(
        dir.path(),
        &[("HOPS_MAX_PAYLOAD", "8MiB"), ("HOPS_LOG", "info")],
    );
    let http = Http::new(&up.api);

    let five = 5 << 20;
    let run = http.send_event(&json!({"bytes": five, "hops": {"source": "t", "event": "big"}}));
    let view = http.wait_run(&run);
    assert_eq!(view["status"], "completed", "{}", short(&view));
    let call = &view["calls"][0];
    assert_eq!(
        call["result"].as_str().map(str::len),
        Some(five),
        "the whole body is shown"
    );
    assert_eq!(call["attempts"], Value::Null, "one attempt");

    let ten = 10 << 20;
    let run = http.send_event(&json!({"bytes": ten, "hops": {"source": "t", "event": "big"}}));
    let view = http.wait_run(&run);
    assert_eq!(view["status"], "errored", "{}", short(&view));
    let error = view["calls"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("returned a result of 10.") && error.contains("MB, over the 8.0 MB limit"),
        "{error}"
    );
    let log = up.log();
    let ran = |bytes: usize| {
        log.matches(&format!("big: producing {bytes} bytes"))
            .count()
    };
    assert_eq!(
        (ran(five), ran(ten)),
        (1, 1),
        "each call ran once; log:\n{log}"
    );
    up.terminate();
}

const LOOP: &str = r#"
on again {
  name = "again"
  call echo_emit {
    name   = "retrigger"
    inputs = { event = "again" }
  }
}
"#;

#[test]
fn a_pipeline_that_triggers_itself_is_stopped_with_a_clear_message() {
    let dir = project(LOOP, None);
    let up = Up::start_with(dir.path(), &[("HOPS_LOG", "warn")]);
    let http = Http::new(&up.api);
    http.send_event(&json!({"hops": {"source": "t", "event": "again"}}));
    // Depth 0 … 8: nine runs, the last one's emit refused.
    let deadline = Instant::now() + Duration::from_secs(60);
    let errored = loop {
        let runs = http.get_json("/api/runs?limit=50");
        let runs = runs.as_array().unwrap().clone();
        if let Some(run) = runs.iter().find(|r| r["status"] == "errored") {
            break run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the loop was not stopped: {runs:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let view = http.wait_run(errored["run_id"].as_str().unwrap());
    let error = view["calls"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains("stopped at depth 8"), "{error}");
    assert!(
        error.contains("Is pipeline again triggering itself?"),
        "{error}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let runs = http.get_json("/api/runs?limit=50");
    assert_eq!(runs.as_array().unwrap().len(), 9, "no run after the stop");
    let log = up.terminate();
    assert!(log.contains("event loop stopped"), "{log}");
}

/// The run view without its (possibly huge) results, for assertion messages.
fn short(view: &Value) -> String {
    let mut view = view.clone();
    if let Some(calls) = view["calls"].as_array_mut() {
        for call in calls {
            call["result"] = json!("…");
        }
    }
    format!("{view:#}")
}
