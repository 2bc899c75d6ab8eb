//! Durable and ephemeral consumers and the delivery wrapper.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use hops_bus::{
    Bus, Deliveries, Delivery, EphemeralConsumerOptions, RunnerConsumerOptions, SubjectKind,
    WorkerConsumerOptions,
};

use crate::common::{config, run_id, setup};

/// The next delivery, or `None` if nothing arrives within `wait`.
async fn next(deliveries: &mut Deliveries, wait: Duration) -> Option<Delivery> {
    match tokio::time::timeout(wait, deliveries.next()).await {
        Ok(Some(Ok(delivery))) => Some(delivery),
        Ok(Some(Err(err))) => panic!("delivery error: {err}"),
        Ok(None) => panic!("consumer ended"),
        Err(_) => None,
    }
}

async fn publish(bus: &Bus, subject: &str) {
    assert!(
        !bus.publish_once(subject, Bytes::new())
            .await
            .unwrap()
            .duplicate
    );
}

fn quick_worker() -> WorkerConsumerOptions {
    WorkerConsumerOptions {
        ack_wait: Duration::from_secs(1),
        ..Default::default()
    }
}

#[tokio::test]
async fn worker_consumer_receives_only_its_apps_requests() {
    let (_server, bus) = setup().await;
    let s = bus.subjects().clone();
    let run = run_id();
    publish(&bus, &s.event(&run).unwrap()).await;
    publish(
        &bus,
        &s.request(&run, "p0-http_get0", "http", "get").unwrap(),
    )
    .await;
    publish(
        &bus,
        &s.request(&run, "p0-slack_post0", "slack", "post").unwrap(),
    )
    .await;
    publish(&bus, &s.result(&run, "p0-http_get0").unwrap()).await;
    publish(
        &bus,
        &s.request(&run, "p0-http_post1", "http", "post").unwrap(),
    )
    .await;

    let consumer = bus
        .worker_consumer("http", &WorkerConsumerOptions::default())
        .await
        .unwrap();
    assert_eq!(consumer.name(), "hops-default-request-http");
    assert_eq!(consumer.filter(), "hops.default.request.*.*.http.*");
    let mut deliveries = consumer.messages(10).await.unwrap();
    let mut handlers = Vec::new();
    for _ in 0..2 {
        let d = next(&mut deliveries, Duration::from_secs(5))
            .await
            .expect("a request");
        match &d.subject.kind {
            SubjectKind::Request { app, handler, .. } => {
                assert_eq!(app, "http");
                handlers.push(handler.clone());
            }
            other => panic!("not a request: {other:?}"),
        }
        assert_eq!(d.subject.run_id, run);
        assert_eq!(d.delivered, 1);
        d.ack().await.unwrap();
    }
    assert_eq!(handlers, ["get", "post"], "in stream order");
    assert!(
        next(&mut deliveries, Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn nak_with_delay_redelivers_with_a_higher_count() {
    let (_server, bus) = setup().await;
    let run = run_id();
    publish(
        &bus,
        &bus.subjects().request(&run, "c", "echo", "run").unwrap(),
    )
    .await;
    let consumer = bus.worker_consumer("echo", &quick_worker()).await.unwrap();
    let mut deliveries = consumer.messages(10).await.unwrap();
    let first = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.delivered, 1);
    let naked = Instant::now();
    first.nak(Some(Duration::from_millis(300))).await.unwrap();
    let again = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert!(
        naked.elapsed() >= Duration::from_millis(250),
        "{:?}",
        naked.elapsed()
    );
    assert_eq!(again.delivered, 2);
    assert_eq!(again.stream_sequence, first.stream_sequence);
    again.ack().await.unwrap();
}

#[tokio::test]
async fn unacked_is_redelivered_but_acked_and_termed_are_not() {
    let (_server, bus) = setup().await;
    let s = bus.subjects().clone();
    let run = run_id();
    for call in ["ignored", "acked", "termed"] {
        publish(&bus, &s.request(&run, call, "echo", "run").unwrap()).await;
    }
    let consumer = bus.worker_consumer("echo", &quick_worker()).await.unwrap();
    let mut deliveries = consumer.messages(10).await.unwrap();
    for _ in 0..3 {
        let d = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
        match &d.subject.kind {
            SubjectKind::Request { call, .. } if call == "acked" => d.ack().await.unwrap(),
            SubjectKind::Request { call, .. } if call == "termed" => d.term().await.unwrap(),
            _ => {} // left alone: redelivered after the 1 s ack wait
        }
    }
    let mut redelivered = Vec::new();
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if let Some(d) = next(&mut deliveries, Duration::from_millis(200)).await {
            if let SubjectKind::Request { call, .. } = &d.subject.kind {
                redelivered.push((call.clone(), d.delivered));
            }
            d.ack().await.unwrap();
        }
    }
    assert_eq!(redelivered, [("ignored".to_owned(), 2)]);
}

#[tokio::test]
async fn in_progress_extends_the_ack_wait() {
    let (_server, bus) = setup().await;
    let run = run_id();
    publish(
        &bus,
        &bus.subjects().request(&run, "slow", "echo", "run").unwrap(),
    )
    .await;
    let consumer = bus.worker_consumer("echo", &quick_worker()).await.unwrap();
    let mut deliveries = consumer.messages(10).await.unwrap();
    let d = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        d.in_progress().await.unwrap();
    }
    assert!(
        next(&mut deliveries, Duration::from_millis(200))
            .await
            .is_none(),
        "2 s of work with progress reports: no redelivery despite the 1 s ack wait"
    );
    d.ack().await.unwrap();
}

#[tokio::test]
async fn two_clients_on_one_durable_share_the_work() {
    let (server, bus) = setup().await;
    let other = Bus::connect(config(&server)).await.unwrap();
    let run = run_id();
    const N: usize = 200;
    for i in 0..N {
        publish(
            &bus,
            &bus.subjects()
                .request(&run, &format!("c{i}"), "echo", "run")
                .unwrap(),
        )
        .await;
    }
    let consume = |bus: Bus| async move {
        let consumer = bus
            .worker_consumer("echo", &WorkerConsumerOptions::default())
            .await
            .unwrap();
        let mut deliveries = consumer.messages(5).await.unwrap();
        let mut got = Vec::new();
        while let Some(d) = next(&mut deliveries, Duration::from_millis(1_500)).await {
            got.push(d.stream_sequence);
            tokio::time::sleep(Duration::from_millis(2)).await;
            d.ack().await.unwrap();
        }
        got
    };
    let (a, b) = tokio::join!(tokio::spawn(consume(bus)), tokio::spawn(consume(other)));
    let (a, b) = (a.unwrap(), b.unwrap());
    let all: BTreeSet<u64> = a.iter().chain(&b).copied().collect();
    assert_eq!(
        a.len() + b.len(),
        N,
        "each message delivered once: {} + {}",
        a.len(),
        b.len()
    );
    assert_eq!(all.len(), N);
    assert!(
        !a.is_empty() && !b.is_empty(),
        "both got work: {} / {}",
        a.len(),
        b.len()
    );
}

#[tokio::test]
async fn runner_consumer_sees_notify_messages_published_before_it_existed() {
    let (_server, bus) = setup().await;
    let s = bus.subjects().clone();
    let run = run_id();
    publish(&bus, &s.event(&run).unwrap()).await;
    publish(&bus, &s.request(&run, "c", "echo", "run").unwrap()).await;
    // Not a hops subject (7 notify tokens): terminated and skipped, never handed out.
    publish(&bus, &format!("hops.default.notify.{run}.a.b")).await;
    publish(&bus, &s.result(&run, "c").unwrap()).await;
    // The runner's own markers: left out of its steps' consumer.
    publish(&bus, &s.done(&run, "p").unwrap()).await;
    publish(&bus, &s.attempt(&run, "c", 1).unwrap()).await;
    publish(&bus, &s.wait(&run, "c").unwrap()).await;
    publish(&bus, &s.pin(&run).unwrap()).await;

    let name = bus.runner_consumer_name();
    assert_eq!(name, "hops-default-runner");
    let consumer = bus
        .runner_consumer(&name, &RunnerConsumerOptions::default())
        .await
        .unwrap();
    let mut deliveries = consumer.messages(50).await.unwrap();
    let first = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.subject.kind, SubjectKind::Event);
    first.ack().await.unwrap();
    let second = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        second.subject.kind,
        SubjectKind::Result { call: "c".into() }
    );
    second.ack().await.unwrap();
    let third = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert_eq!(third.subject.kind, SubjectKind::Pin);
    third.ack().await.unwrap();
    assert!(
        next(&mut deliveries, Duration::from_millis(300))
            .await
            .is_none()
    );

    // Wait markers come through the runner's second consumer, and only they do.
    let waits_name = Bus::runner_waits_consumer_name(&name);
    assert_eq!(waits_name, "hops-default-runner-waits");
    let waits = bus
        .runner_waits_consumer(&name, &RunnerConsumerOptions::default())
        .await
        .unwrap();
    assert_eq!(waits.name(), waits_name);
    let mut waiting = waits.messages(50).await.unwrap();
    let wait = next(&mut waiting, Duration::from_secs(5)).await.unwrap();
    assert_eq!(wait.subject.kind, SubjectKind::Wait { call: "c".into() });
    wait.ack().await.unwrap();
    assert!(
        next(&mut waiting, Duration::from_millis(300))
            .await
            .is_none()
    );

    // Re-creating the durable resumes where it was: nothing is delivered twice.
    let again = bus
        .runner_consumer(&name, &RunnerConsumerOptions::default())
        .await
        .unwrap();
    let mut deliveries = again.messages(50).await.unwrap();
    assert!(
        next(&mut deliveries, Duration::from_millis(300))
            .await
            .is_none()
    );

    assert!(bus.delete_consumer(&name).await.unwrap());
    assert!(!bus.delete_consumer(&name).await.unwrap());
}

#[tokio::test]
async fn consumer_options_can_be_updated_in_place() {
    let (_server, bus) = setup().await;
    bus.worker_consumer("echo", &WorkerConsumerOptions::default())
        .await
        .unwrap();
    let updated = WorkerConsumerOptions {
        ack_wait: Duration::from_secs(5),
        max_deliver: 3,
        max_ack_pending: 50,
    };
    let consumer = bus.worker_consumer("echo", &updated).await.unwrap();
    let info = consumer_info(&bus, consumer.name()).await;
    assert_eq!(info.config.ack_wait, Duration::from_secs(5));
    assert_eq!(info.config.max_ack_pending, 50);
    // The delivery limit is the runtime's to enforce: the server never drops a request.
    assert_eq!(info.config.max_deliver, hops_bus::UNLIMITED_DELIVERIES);
}

#[tokio::test]
async fn consumers_of_earlier_versions_lose_their_delivery_limit_in_place() {
    let (_server, bus) = setup().await;
    let stream = bus.jetstream().get_stream("HOPS").await.unwrap();
    let name = bus.worker_consumer_name("echo");
    // What Hops created before the limit moved into the runtime.
    stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: bus.subjects().app_requests("echo").unwrap(),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            max_deliver: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    bus.worker_consumer("echo", &WorkerConsumerOptions::default())
        .await
        .unwrap();
    let info = consumer_info(&bus, &name).await;
    assert_eq!(info.config.max_deliver, hops_bus::UNLIMITED_DELIVERIES);
    let runner = bus.runner_consumer_name();
    stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some(runner.clone()),
            filter_subject: bus.subjects().all_notify(),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            max_deliver: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    bus.runner_consumer(&runner, &RunnerConsumerOptions::default())
        .await
        .unwrap();
    let info = consumer_info(&bus, &runner).await;
    assert_eq!(info.config.max_deliver, hops_bus::UNLIMITED_DELIVERIES);
    // Narrowed in place to what the runner steps on; its position is kept.
    assert_eq!(info.config.filter_subject, bus.subjects().runner_steps());
    assert_eq!(info.name, runner);
}

async fn consumer_info(bus: &Bus, name: &str) -> async_nats::jetstream::consumer::Info {
    let stream = bus.jetstream().get_stream("HOPS").await.unwrap();
    stream.consumer_info(name).await.unwrap()
}

#[tokio::test]
async fn ephemeral_consumer_follows_one_run() {
    let (_server, bus) = setup().await;
    let s = bus.subjects().clone();
    let (run, other) = (run_id(), run_id());
    publish(&bus, &s.event(&run).unwrap()).await;
    publish(&bus, &s.event(&other).unwrap()).await;
    let consumer = bus
        .ephemeral_consumer(EphemeralConsumerOptions::all(
            s.run_filter(&run, hops_bus::Channels::All).unwrap(),
        ))
        .await
        .unwrap();
    let mut deliveries = consumer.messages(10).await.unwrap();
    let d = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (d.subject.run_id.as_str(), &d.subject.kind),
        (run.as_str(), &SubjectKind::Event)
    );
    d.ack().await.unwrap();
    // Live: a message published now arrives too.
    publish(&bus, &s.result(&run, "c").unwrap()).await;
    let d = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert_eq!(d.subject.kind, SubjectKind::Result { call: "c".into() });
    d.ack().await.unwrap();
    assert!(
        next(&mut deliveries, Duration::from_millis(300))
            .await
            .is_none()
    );
    assert!(bus.delete_consumer(consumer.name()).await.unwrap());
}

#[tokio::test]
async fn a_runner_consumer_of_an_earlier_version_is_narrowed_and_keeps_its_place() {
    let (_server, bus) = setup().await;
    let s = bus.subjects().clone();
    let stream = bus.jetstream().get_stream("HOPS").await.unwrap();
    let name = bus.runner_consumer_name();
    // What Hops created before the runner left its own markers out.
    stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: s.all_notify(),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();
    let (first, second) = (run_id(), run_id());
    publish(&bus, &s.event(&first).unwrap()).await;
    publish(&bus, &s.done(&first, "p").unwrap()).await;
    let old = bus
        .runner_consumer(&name, &RunnerConsumerOptions::default())
        .await
        .unwrap();
    let mut deliveries = old.messages(1).await.unwrap();
    let event = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert_eq!(event.subject.run_id, first);
    event.ack().await.unwrap();
    drop(deliveries);

    publish(&bus, &s.done(&second, "p").unwrap()).await;
    publish(&bus, &s.event(&second).unwrap()).await;
    let narrowed = bus
        .runner_consumer(&name, &RunnerConsumerOptions::default())
        .await
        .unwrap();
    assert_eq!(narrowed.filter(), s.runner_steps());
    let mut deliveries = narrowed.messages(50).await.unwrap();
    // The first run's event is not delivered again and no done marker comes at all.
    let got = next(&mut deliveries, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (got.subject.run_id.as_str(), &got.subject.kind),
        (second.as_str(), &SubjectKind::Event)
    );
    got.ack().await.unwrap();
    assert!(
        next(&mut deliveries, Duration::from_millis(300))
            .await
            .is_none()
    );
}
