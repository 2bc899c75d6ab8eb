//! Local dispatch: the host whose runner publishes a request runs the call itself. Its
//! request's worker deliveries — on the same host or another one — must never run it again,
//! and a publisher that dies before or during its run must leave the call to run once more
//! elsewhere, as attempt 2.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use hops_api::{HostApi as _, RunStatus};
use hops_bus::HeaderMap;
use hops_core::ResultMessage;
use hops_runtime::{Host, Roles};
use hops_testutil::NatsServer;
use serde_json::json;

use crate::harness::*;

const WAIT: Duration = Duration::from_secs(30);

/// Every (run, call) ran exactly once, as attempt 1.
fn assert_each_ran_once_as_attempt_1(log: &CallLog, expected: usize) {
    let mut seen: HashMap<(String, String), Vec<u32>> = HashMap::new();
    for h in log.all() {
        seen.entry((h.run_id, h.call)).or_default().push(h.attempt);
    }
    let wrong: Vec<_> = seen.iter().filter(|(_, a)| a.as_slice() != [1]).collect();
    assert!(
        wrong.is_empty(),
        "calls that did not run exactly once: {wrong:?}"
    );
    assert_eq!(seen.len(), expected);
}

/// Waits until the host's runner consumes: from then on it takes the events the host sends.
async fn wait_runner(host: &Host) {
    let name = host.bus().runner_consumer_name();
    eventually(WAIT, "the runner to consume", async || {
        host.bus()
            .consumer_activity(&name)
            .await
            .ok()
            .flatten()
            .is_some()
    })
    .await;
}

/// Waits until no request of `app` is delivered and unacknowledged or undelivered: every
/// delivery, wherever it went, was settled.
async fn wait_settled(host: &Host, app: &str) {
    eventually(WAIT, "every request delivery to be settled", async || {
        host.bus()
            .worker_activity(app)
            .await
            .ok()
            .flatten()
            .is_some_and(|a| a.in_flight == 0 && a.pending == 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_on_another_host_wait_for_the_local_run_and_never_run_the_call() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    // The only runner: it runs every call itself. The second host serves the same app, so
    // about half the requests' deliveries reach it while the call is running on the first
    // (the nap takes 400 ms), and must wait and only ack.
    let runner = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let mut config = config(
        connect(&nats.url()).await,
        dir.path(),
        workers(&["tools"], &log),
    );
    config.roles = Roles {
        runner: false,
        workers: true,
        api: false,
    };
    let other = Host::start(config).await.unwrap();
    let mut runs = Vec::new();
    for _ in 0..16 {
        runs.push(
            send(
                &runner,
                json!({"ms": 400, "hops": {"source": "t", "event": "slow"}}),
            )
            .await,
        );
    }
    for run in &runs {
        let view = wait_run(&runner, run, WAIT).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        assert!(view.calls.iter().all(|c| c.attempts.is_none()), "{view:#?}");
    }
    assert_each_ran_once_as_attempt_1(&log, 48);
    wait_settled(&runner, "tools").await;
    other.shutdown(Duration::from_secs(5)).await;
    runner.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_with_local_dispatch_run_every_call_once_under_load() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let a = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let b = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    // Events sent at once to both: each replica's runner gets the other's results and
    // requests too, and their local runs race their requests' deliveries.
    let sends = (0..200).map(|n| {
        let host = if n % 2 == 0 { &a } else { &b };
        send(
            host,
            json!({"n": n, "hops": {"source": "t", "event": "chain"}}),
        )
    });
    let runs = futures::future::join_all(sends).await;
    for run in &runs {
        let view = wait_run(&a, run, WAIT).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        assert_eq!(view.calls.len(), 3, "{view:#?}");
    }
    assert_each_ran_once_as_attempt_1(&log, 600);
    wait_settled(&a, "tools").await;
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_publisher_died_before_running_it_runs_once_as_attempt_2() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    // What a host leaves behind when it dies right after its request was stored and before
    // its local run began: the request, naming a host that no longer answers.
    let bus = host.bus();
    let run = "local-dispatch-orphan";
    let subject = bus
        .subjects()
        .request(run, "orphan-call", "tools", "echo")
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("Hops-Local", "0123456789abcdef0123456789abcdef");
    let published = bus
        .publish_once_with_headers(&subject, headers, Bytes::from(r#"{"n": 7}"#))
        .await
        .unwrap();
    assert!(!published.duplicate);
    let result_subject = bus.subjects().result(run, "orphan-call").unwrap();
    let mut stored = None;
    eventually(WAIT, "the orphaned call's result", async || {
        stored = bus.read_last(&result_subject).await.unwrap();
        stored.is_some()
    })
    .await;
    let result: ResultMessage = serde_json::from_slice(&stored.unwrap().payload).unwrap();
    assert!(!result.errored, "{result:#?}");
    assert_eq!(result.hops.attempts, Some(2), "{result:#?}");
    assert_eq!(result.hops.previous_attempts.len(), 1, "{result:#?}");
    assert!(
        result.hops.previous_attempts[0].starts_with("host lost during attempt 1"),
        "{result:#?}"
    );
    let ran: Vec<_> = log.all().into_iter().filter(|h| h.run_id == run).collect();
    assert_eq!(
        ran.len(),
        1,
        "the call ran once, after the dead host's turn: {ran:#?}"
    );
    assert_eq!(ran[0].attempt, 2);
    assert_eq!(ran[0].inputs, json!({"n": 7}));
    host.shutdown(Duration::from_secs(5)).await;
}

/// The result of `call` in `run`, read back with its headers.
/// The message stored on `subject` (it must be there).
async fn stored(host: &Host, subject: &str) -> hops_bus::RunMessage {
    host.bus().read_last(subject).await.unwrap().unwrap()
}

async fn stored_result(host: &Host, run: &str, call: &str) -> hops_bus::RunMessage {
    stored(host, &host.bus().subjects().result(run, call).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequential_step_sends_its_result_and_the_next_request_chained() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    wait_runner(&host).await;
    let run = send(
        &host,
        json!({"n": 1, "hops": {"source": "t", "event": "chain"}}),
    )
    .await;
    let view = wait_run(&host, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_each_ran_once_as_attempt_1(&log, 3);
    let inputs: Vec<_> = log
        .of_run(&run)
        .iter()
        .map(|h| h.inputs["n"].clone())
        .collect();
    assert_eq!(inputs, [json!(1), json!(2), json!(3)]);
    // The results of steps one and two went out named, and the next request was stored
    // right after each, chained to it.
    let named = |m: &hops_bus::RunMessage| {
        m.headers
            .as_ref()
            .is_some_and(|h| h.get("Nats-Msg-Id").is_some())
    };
    // The event this host published went out named, the run's pin right after it, chained
    // to it, and the first request right after the pin, chained to the pin.
    let event = stored(&host, &host.bus().subjects().event(&run).unwrap()).await;
    assert!(named(&event), "{:?}", event.headers);
    let pin = stored(&host, &host.bus().subjects().pin(&run).unwrap()).await;
    assert!(named(&pin), "{:?}", pin.headers);
    assert_eq!(pin.stream_sequence, event.stream_sequence + 1);
    let first = host
        .bus()
        .read_last(
            &host
                .bus()
                .subjects()
                .request(&run, "steps-one", "tools", "echo")
                .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.stream_sequence, pin.stream_sequence + 1);
    for call in ["steps-one", "steps-two"] {
        let message = stored_result(&host, &run, call).await;
        assert!(named(&message), "{call}: {:?}", message.headers);
        let request = host
            .bus()
            .read_last(
                &host
                    .bus()
                    .subjects()
                    .request(
                        &run,
                        match call {
                            "steps-one" => "steps-two",
                            _ => "steps-three",
                        },
                        "tools",
                        "echo",
                    )
                    .unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            request.stream_sequence,
            message.stream_sequence + 1,
            "the request right after the result it was computed from"
        );
    }
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_host_sends_again_starts_nothing_more() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    wait_runner(&host).await;
    let event = json!({"n": 1, "hops": {"source": "t", "event": "chain"}});
    // Stored by another process first (this connection's starter does not see it), so the
    // host's send goes out chained and its event is refused as the run's second.
    let source = hops_core::SourceEvent::from_value(event.clone()).unwrap();
    let run_id = source.stable_run_id(Some("once"));
    let theirs = host
        .bus()
        .publish_once(
            &host.bus().subjects().event(&run_id).unwrap(),
            Bytes::from(source.to_bytes()),
        )
        .await
        .unwrap();
    assert!(!theirs.duplicate);
    let first = host
        .services()
        .send_event(event.clone(), Some("once".to_owned()))
        .await
        .unwrap();
    let again = host
        .services()
        .send_event(event, Some("once".to_owned()))
        .await
        .unwrap();
    assert!(
        first.duplicate && again.duplicate,
        "every send is the same run"
    );
    assert_eq!(first.run_id, run_id);
    assert_eq!(again.run_id, run_id);
    let view = wait_run(&host, &first.run_id, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_each_ran_once_as_attempt_1(&log, 3);
    wait_settled(&host, "tools").await;
    // The refused second send stored nothing: the run's messages are its event, its pin, its
    // three requests and results and its done markers, each once.
    let messages = host
        .bus()
        .read_run_through(&first.run_id, hops_bus::Channels::All, u64::MAX)
        .await
        .unwrap();
    let mut subjects: Vec<_> = messages
        .iter()
        .map(|m| format!("{:?}", m.subject.kind))
        .collect();
    subjects.sort();
    let before = subjects.len();
    subjects.dedup();
    assert_eq!(
        before,
        subjects.len(),
        "a message stored twice: {subjects:?}"
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.subject.kind == hops_bus::SubjectKind::Pin)
            .count(),
        1
    );
    host.shutdown(Duration::from_secs(5)).await;
}

/// Step one's handler stores another attempt's result (`n` = 100) for its own call before it
/// answers (`n` as given): what a host that took the call over meanwhile would have stored.
struct Overtaken {
    bus: std::sync::Arc<hops_bus::Bus>,
    log: CallLog,
}

#[async_trait::async_trait]
impl hops_core::Worker for Overtaken {
    async fn handle(
        &self,
        call: hops_core::CallRequest,
    ) -> Result<hops_core::CallOutput, hops_core::CallError> {
        let inputs = call.inputs_json();
        let echo = TestApp {
            log: self.log.clone(),
            by: String::new(),
        };
        if call.call_id == "steps-one" {
            let subject = self
                .bus
                .subjects()
                .result(&call.run_id, &call.call_id)
                .unwrap();
            echo.handle(call).await?;
            let theirs = ResultMessage::from_outcome(
                &Ok(hops_core::CallOutput::json(json!({"inputs": {"n": 100}}))),
                chrono::Utc::now(),
                chrono::Utc::now(),
            );
            let stored = self
                .bus
                .publish_once(&subject, Bytes::from(theirs.to_bytes()))
                .await
                .unwrap();
            assert!(!stored.duplicate);
            return Ok(hops_core::CallOutput::json(json!({"inputs": inputs})));
        }
        echo.handle(call).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chained_request_after_a_result_that_another_attempt_beat_is_never_stored() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let workers = hops_core::Workers::new();
    workers.insert(
        "tools",
        std::sync::Arc::new(Overtaken {
            bus: connect(&nats.url()).await,
            log: log.clone(),
        }),
    );
    let host = Host::start(config(connect(&nats.url()).await, dir.path(), workers))
        .await
        .unwrap();
    for n in 0..20 {
        let run = send(
            &host,
            json!({"n": n, "hops": {"source": "t", "event": "chain"}}),
        )
        .await;
        let view = wait_run(&host, &run, WAIT).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        // Step two followed the stored result of step one, never the one this host computed
        // and sent with step two's request chained to it.
        let inputs: Vec<_> = log
            .of_run(&run)
            .iter()
            .map(|h| (h.call.clone(), h.inputs["n"].clone()))
            .collect();
        assert_eq!(
            inputs,
            [
                ("steps-one".to_owned(), json!(n)),
                ("steps-two".to_owned(), json!(101)),
                ("steps-three".to_owned(), json!(102)),
            ],
            "run {n}"
        );
    }
    host.shutdown(Duration::from_secs(5)).await;
}
