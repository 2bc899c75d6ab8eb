//! Human input mid-run: a call to `input_ask` waits, holding no delivery, until someone
//! answers it (checked like task params) or its deadline passes; the answer, with who gave it,
//! is the call's result, and the run goes on. It waits across host restarts.

use std::time::Duration;

use hops_api::{ApiError, CallStatus, HostApi as _, InputView, RunQuery, RunStatus};
use hops_runtime::Host;
use hops_testutil::NatsServer;
use serde_json::{Map, Value, json};

use crate::harness::*;

const PIPELINES: &str = r#"
on deploy {
  call input_ask {
    name = "approval"
    inputs = {
      prompt = "Deploy ${event.service}?"
      params = {
        approve = { type = "bool", required = true, help = "Yes to go on" }
        reason  = { type = "text", default = "none given" }
      }
    }
  }
  call tools_echo {
    name   = "go"
    if     = approval.completed && approval.json.approve
    inputs = { reason = approval.json.reason, by = approval.hops.answered_by }
  }
}

on hurry {
  call input_ask {
    name   = "fast"
    inputs = { prompt = "Quick?", deadline = "1s" }
  }
}

on ping {
  call tools_echo {
    name = "pong"
  }
}

on broken {
  call input_ask {
    name   = "wrong"
    inputs = { prompt = 3 }
  }
}
"#;

fn values(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

async fn open_input(host: &Host, run_id: &str) -> InputView {
    let mut found = None;
    eventually(Duration::from_secs(15), "the input to open", async || {
        found = host
            .services()
            .inputs()
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.run_id == run_id);
        found.is_some()
    })
    .await;
    found.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_waits_holding_nothing_and_the_answer_is_the_calls_result() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let services = host.services();
    let run = send(
        &host,
        json!({"service": "billing", "hops": {"source": "t", "event": "deploy"}}),
    )
    .await;

    let input = open_input(&host, &run).await;
    assert_eq!(input.call, "approval");
    assert!(input.pipeline.starts_with("deploy"), "{input:?}");
    assert_eq!(input.prompt, "Deploy billing?");
    assert_eq!(input.deadline_at, None);
    let names: Vec<&str> = input.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["approve", "reason"]);
    assert!(input.params[0].required);
    assert_eq!(input.params[0].help, "Yes to go on");

    // It waits in the timeline, and holds no delivery of the input app's consumer.
    let view = services.run(&run).await.unwrap();
    let call = view.calls.iter().find(|c| c.name == "approval").unwrap();
    assert_eq!(call.status, CallStatus::Waiting, "{view:#?}");
    assert!(
        call.waiting_for
            .as_deref()
            .unwrap()
            .contains("Deploy billing?"),
        "{call:#?}"
    );
    let consumer = host.bus().worker_consumer_name("input");
    let mut idle = false;
    eventually(
        Duration::from_secs(5),
        "the input's request to be acked",
        async || {
            let activity = host
                .bus()
                .consumer_activity(&consumer)
                .await
                .unwrap()
                .unwrap();
            idle = activity.in_flight == 0 && activity.pending == 0;
            idle
        },
    )
    .await;

    // Answers that do not fit get the same field errors as task params.
    let err = services
        .answer_input(&run, "approval", values(json!({"colour": "red"})), "alice")
        .await
        .unwrap_err();
    let ApiError::Invalid { errors, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(errors["approve"], ["Required"]);
    assert!(
        errors["colour"][0].starts_with("Unknown parameter"),
        "{errors:?}"
    );
    let err = services
        .answer_input(&run, "approval", values(json!({"approve": "yes"})), "alice")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { errors, .. } if errors["approve"] == ["Should be a boolean"]),
        "{err:?}"
    );
    let err = services
        .answer_input(&run, "nope", Map::new(), "alice")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::NotFound(m) if m.contains("approval")),
        "{err:?}"
    );

    let answered = services
        .answer_input(&run, "approval", values(json!({"approve": true})), "alice")
        .await
        .unwrap();
    assert_eq!(
        answered.answer,
        json!({"approve": true, "reason": "none given"})
    );
    assert_eq!(answered.answered_by, "alice");
    let again = services
        .answer_input(&run, "approval", values(json!({"approve": false})), "bob")
        .await
        .unwrap_err();
    assert!(matches!(again, ApiError::Conflict(_)), "{again:?}");

    let view = wait_run(&host, &run, Duration::from_secs(15)).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    let approval = view.calls.iter().find(|c| c.name == "approval").unwrap();
    assert_eq!(approval.status, CallStatus::Completed);
    assert_eq!(
        approval.result,
        Some(json!({"approve": true, "reason": "none given"}))
    );
    let ran = log.of_run(&run);
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(
        ran[0].inputs,
        json!({"reason": "none given", "by": "alice"})
    );
    assert!(services.inputs().await.unwrap().is_empty());
    let metrics = services.metrics().await.unwrap();
    assert!(metrics.contains("hops_inputs_open 0"), "{metrics}");
    assert!(
        metrics.contains("hops_calls_total{app=\"input\",outcome=\"completed\"} 1"),
        "{metrics}"
    );
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_waits_across_a_host_restart_and_is_answered_after_it() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let run = send(
        &host,
        json!({"service": "api", "hops": {"source": "t", "event": "deploy"}}),
    )
    .await;
    open_input(&host, &run).await;
    host.shutdown(Duration::from_secs(5)).await;

    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let input = open_input(&host, &run).await;
    assert_eq!(input.prompt, "Deploy api?");
    host.services()
        .answer_input(
            &run,
            "approval",
            values(json!({"approve": true, "reason": "after the restart"})),
            "carol",
        )
        .await
        .unwrap();
    let view = wait_run(&host, &run, Duration::from_secs(15)).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    let ran = log.of_run(&run);
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(
        ran[0].inputs,
        json!({"reason": "after the restart", "by": "carol"})
    );
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_past_its_deadline_ends_errored_and_a_bad_question_errors_at_once() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let services = host.services();

    let run = send(&host, json!({"hops": {"source": "t", "event": "hurry"}})).await;
    let input = open_input(&host, &run).await;
    assert!(input.deadline_at.is_some());
    let view = wait_run(&host, &run, Duration::from_secs(20)).await;
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let fast = view.calls.iter().find(|c| c.name == "fast").unwrap();
    assert_eq!(fast.status, CallStatus::Errored);
    let error = fast.error.as_deref().unwrap();
    assert!(error.contains("within its deadline of 1s"), "{error}");
    let late = services
        .answer_input(&run, "fast", Map::new(), "dave")
        .await
        .unwrap_err();
    assert!(matches!(late, ApiError::Conflict(_)), "{late:?}");

    let run = send(&host, json!({"hops": {"source": "t", "event": "broken"}})).await;
    let view = wait_run(&host, &run, Duration::from_secs(15)).await;
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let wrong = view.calls.iter().find(|c| c.name == "wrong").unwrap();
    let error = wrong.error.as_deref().unwrap();
    assert!(error.contains("prompt must be a string"), "{error}");
    assert!(services.inputs().await.unwrap().is_empty());
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_listed_by_status_and_paged() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let services = host.services();
    let mut pings = Vec::new();
    for _ in 0..3 {
        let run = send(&host, json!({"hops": {"source": "t", "event": "ping"}})).await;
        wait_run(&host, &run, Duration::from_secs(15)).await;
        pings.push(run);
    }
    let waiting = send(
        &host,
        json!({"service": "x", "hops": {"source": "t", "event": "deploy"}}),
    )
    .await;
    open_input(&host, &waiting).await;

    let running = services
        .find_runs(&RunQuery {
            limit: 10,
            status: Some(RunStatus::Running),
            ..RunQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = running.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, [waiting.as_str()]);

    let completed = RunQuery {
        limit: 2,
        status: Some(RunStatus::Completed),
        ..RunQuery::default()
    };
    let first = services.find_runs(&completed).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, [pings[2].as_str(), pings[1].as_str()]);
    let next = services
        .find_runs(&RunQuery {
            before: first.last().unwrap().sequence,
            ..completed.clone()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = next.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, [pings[0].as_str()]);
    host.shutdown(Duration::from_secs(5)).await;
}
