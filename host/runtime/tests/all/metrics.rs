//! `/metrics` after a known set of runs: the counts match what ran, once each.

use std::time::Duration;

use hops_api::{HostApi as _, RunStatus};
use hops_testutil::NatsServer;
use serde_json::json;

use crate::harness::*;

const PIPELINES: &str = r#"
on good {
  call tools_echo {
    name = "a"
  }
}

on bad {
  call tools_fail {
    name = "b"
    inputs = { message = "no" }
  }
}
"#;

/// The value of the sample `line` starts with (`name{labels}`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_after_known_runs_shows_the_matching_counts() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let mut good = String::new();
    for _ in 0..3 {
        let run = send(&host, json!({"hops": {"source": "t", "event": "good"}})).await;
        let view = wait_run(&host, &run, Duration::from_secs(20)).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        good = view.pipelines[0].name.clone();
    }
    let run = send(&host, json!({"hops": {"source": "t", "event": "bad"}})).await;
    let view = wait_run(&host, &run, Duration::from_secs(20)).await;
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let bad = view.pipelines[0].name.clone();

    let expected = [
        (
            format!("hops_runs_started_total{{pipeline=\"{good}\"}}"),
            3.0,
        ),
        (
            format!("hops_runs_started_total{{pipeline=\"{bad}\"}}"),
            1.0,
        ),
        (
            format!(
                "hops_pipeline_runs_finished_total{{pipeline=\"{good}\",outcome=\"completed\"}}"
            ),
            3.0,
        ),
        (
            format!("hops_pipeline_runs_finished_total{{pipeline=\"{bad}\",outcome=\"errored\"}}"),
            1.0,
        ),
        (
            "hops_runs_finished_total{outcome=\"completed\"}".to_owned(),
            3.0,
        ),
        (
            "hops_runs_finished_total{outcome=\"errored\"}".to_owned(),
            1.0,
        ),
        (
            "hops_calls_total{app=\"tools\",outcome=\"completed\"}".to_owned(),
            3.0,
        ),
        (
            "hops_calls_total{app=\"tools\",outcome=\"errored\"}".to_owned(),
            1.0,
        ),
        (
            "hops_call_duration_seconds_count{app=\"tools\"}".to_owned(),
            4.0,
        ),
        ("hops_consumer_pending{consumer=\"runner\"}".to_owned(), 0.0),
        ("hops_consumer_pending{consumer=\"tools\"}".to_owned(), 0.0),
    ];
    // The run's marker can be read a moment before its runner counts it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = host.services().metrics().await.unwrap();
        let all = expected
            .iter()
            .all(|(series, value)| sample(&text, series) == Some(*value));
        if all || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for (series, value) in &expected {
        assert_eq!(sample(&text, series), Some(*value), "{series} in:\n{text}");
    }
    assert_eq!(log.all().len(), 4, "each call ran once");
    host.shutdown(Duration::from_secs(5)).await;
}
