//! Reading runs, the last message of a subject, and recent events.

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use hops_bus::{Bus, Channels, EventScan, SubjectKind};

use crate::common::{run_id, setup};

/// Publishes a whole run (event, pin, request, result, done) and returns the subjects in order.
async fn publish_run(bus: &Bus, run: &str) -> Vec<String> {
    let s = bus.subjects();
    let subjects = vec![
        s.event(run).unwrap(),
        s.pin(run).unwrap(),
        s.request(run, "p0-http_do0", "http", "do").unwrap(),
        s.result(run, "p0-http_do0").unwrap(),
        s.done(run, "p0").unwrap(),
    ];
    for subject in &subjects {
        let payload = Bytes::from(subject.clone());
        assert!(!bus.publish_once(subject, payload).await.unwrap().duplicate);
    }
    subjects
}

#[tokio::test]
async fn read_run_returns_the_run_in_order_and_nothing_else() {
    let (_server, bus) = setup().await;
    let (a, b) = (run_id(), run_id());
    // Interleave two runs.
    let s = bus.subjects();
    let mut expected_a = Vec::new();
    for (i, (sa, sb)) in publish_pairs(&bus, &a, &b).into_iter().enumerate() {
        assert!(
            !bus.publish_once(&sa, Bytes::from(format!("a{i}")))
                .await
                .unwrap()
                .duplicate
        );
        assert!(
            !bus.publish_once(&sb, Bytes::from(format!("b{i}")))
                .await
                .unwrap()
                .duplicate
        );
        expected_a.push(sa);
    }
    let all = bus.read_run(&a, Channels::All).await.unwrap();
    let got: Vec<String> = all.iter().map(|m| subject_of(&bus, m)).collect();
    assert_eq!(got, expected_a);
    assert!(
        all.windows(2)
            .all(|w| w[0].stream_sequence < w[1].stream_sequence)
    );
    assert!(all.iter().all(|m| m.subject.run_id == a));
    assert_eq!(all[0].payload, Bytes::from_static(b"a0"));
    let age = Utc::now() - all[0].published;
    assert!(
        age.num_seconds().abs() < 60,
        "published time is the store time: {age}"
    );

    let notify = bus.read_run(&a, Channels::Notify).await.unwrap();
    let kinds: Vec<SubjectKind> = notify.iter().map(|m| m.subject.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            SubjectKind::Event,
            SubjectKind::Pin,
            SubjectKind::Result {
                call: "p0-http_do0".into()
            },
            SubjectKind::Done { on: "p0".into() },
        ]
    );
    assert!(
        bus.read_run(&run_id(), Channels::All)
            .await
            .unwrap()
            .is_empty()
    );
    // A run is defined by its event: stray messages without one are not a run.
    let stray = run_id();
    let subject = s.result(&stray, "p0-x").unwrap();
    bus.publish_once(&subject, Bytes::new()).await.unwrap();
    assert!(
        bus.read_run(&stray, Channels::All)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(bus.read_run("bad run", Channels::All).await.is_err());
}

fn publish_pairs(bus: &Bus, a: &str, b: &str) -> Vec<(String, String)> {
    let s = bus.subjects();
    vec![
        (s.event(a).unwrap(), s.event(b).unwrap()),
        (s.pin(a).unwrap(), s.pin(b).unwrap()),
        (
            s.request(a, "p0-http_do0", "http", "do").unwrap(),
            s.request(b, "p0-http_do0", "http", "do").unwrap(),
        ),
        (
            s.result(a, "p0-http_do0").unwrap(),
            s.result(b, "p0-http_do0").unwrap(),
        ),
        (s.done(a, "p0").unwrap(), s.done(b, "p0").unwrap()),
    ]
}

/// Rebuilds the raw subject of a message from its parsed form (and checks the builders agree).
fn subject_of(bus: &Bus, m: &hops_bus::RunMessage) -> String {
    let s = bus.subjects();
    let run = &m.subject.run_id;
    let built = match &m.subject.kind {
        SubjectKind::Event => s.event(run),
        SubjectKind::Pin => s.pin(run),
        SubjectKind::Result { call } => s.result(run, call),
        SubjectKind::Done { on } => s.done(run, on),
        SubjectKind::Attempt { call, attempt } => s.attempt(run, call, *attempt),
        SubjectKind::Wait { call } => s.wait(run, call),
        SubjectKind::Request { call, app, handler } => s.request(run, call, app, handler),
    }
    .unwrap();
    assert_eq!(built, s.render(&m.subject));
    built
}

#[tokio::test]
async fn read_run_reads_large_runs_in_several_batches() {
    let (_server, bus) = setup().await;
    let run = run_id();
    let event = bus.subjects().event(&run).unwrap();
    bus.publish_once(&event, Bytes::new()).await.unwrap();
    const N: usize = 2_500;
    let publishes = (0..N).map(|i| {
        let bus = bus.clone();
        let subject = bus.subjects().result(&run, &format!("p0-c{i}")).unwrap();
        async move { bus.publish_once(&subject, Bytes::new()).await.unwrap() }
    });
    let published = futures::future::join_all(publishes).await;
    assert!(published.iter().all(|p| !p.duplicate));
    let messages = bus.read_run(&run, Channels::Notify).await.unwrap();
    assert_eq!(messages.len(), N + 1);
    assert_eq!(messages[0].subject.kind, SubjectKind::Event);
    let mut calls: Vec<String> = messages[1..]
        .iter()
        .map(|m| match &m.subject.kind {
            SubjectKind::Result { call } => call.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    calls.sort();
    calls.dedup();
    assert_eq!(calls.len(), N, "every result exactly once");
    assert!(
        messages
            .windows(2)
            .all(|w| w[0].stream_sequence < w[1].stream_sequence)
    );
}

#[tokio::test]
async fn read_run_after_returns_only_newer_messages() {
    let (_server, bus) = setup().await;
    let run = run_id();
    publish_run(&bus, &run).await;
    let all = bus.read_run(&run, Channels::All).await.unwrap();
    assert_eq!(all.len(), 5);
    let last = all[4].stream_sequence;
    assert!(
        bus.read_run_after(&run, Channels::All, last, None)
            .await
            .unwrap()
            .is_empty()
    );
    let more = bus.subjects().result(&run, "p0-second").unwrap();
    bus.publish_once(&more, Bytes::new()).await.unwrap();
    publish_run(&bus, &run_id()).await; // another run's messages after it
    let newer = bus
        .read_run_after(&run, Channels::All, last, None)
        .await
        .unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(
        newer[0].subject.kind,
        SubjectKind::Result {
            call: "p0-second".into()
        }
    );
    let from_pin = bus
        .read_run_after(&run, Channels::Notify, all[1].stream_sequence, None)
        .await
        .unwrap();
    assert_eq!(
        from_pin.len(),
        3,
        "result, done, new result; the request is not notify"
    );
}

#[tokio::test]
async fn reads_through_a_sequence_stop_at_the_message_that_reaches_it() {
    let (_server, bus) = setup().await;
    let run = run_id();
    publish_run(&bus, &run).await;
    publish_run(&bus, &run_id()).await; // another run's messages in between do not count
    let more = bus.subjects().result(&run, "p0-second").unwrap();
    bus.publish_once(&more, Bytes::new()).await.unwrap();
    let all = bus.read_run(&run, Channels::All).await.unwrap();
    assert_eq!(all.len(), 6);
    let prefix = bus
        .read_run_through(&run, Channels::All, all[2].stream_sequence)
        .await
        .unwrap();
    assert_eq!(
        prefix,
        all[..3].to_vec(),
        "the prefix up to the third message"
    );
    let middle = bus
        .read_run_after(
            &run,
            Channels::All,
            all[0].stream_sequence,
            Some(all[4].stream_sequence),
        )
        .await
        .unwrap();
    assert_eq!(middle, all[1..5].to_vec());
    // A bound between two of the run's messages stops at the first one past it.
    let past = bus
        .read_run_after(
            &run,
            Channels::All,
            all[3].stream_sequence,
            Some(all[5].stream_sequence - 1),
        )
        .await
        .unwrap();
    assert_eq!(past, all[4..6].to_vec());
    let nothing = bus
        .read_run_after(
            &run,
            Channels::All,
            all[5].stream_sequence,
            Some(all[5].stream_sequence),
        )
        .await
        .unwrap();
    assert!(nothing.is_empty());
}

#[tokio::test]
async fn read_last_finds_the_message_or_none() {
    let (_server, bus) = setup().await;
    let run = run_id();
    let subjects = publish_run(&bus, &run).await;
    let last = bus.read_last(&subjects[3]).await.unwrap().unwrap();
    assert_eq!(last.payload, Bytes::from(subjects[3].clone()));
    assert_eq!(last.subject.run_id, run);
    let missing = bus.subjects().result(&run, "nope").unwrap();
    assert!(bus.read_last(&missing).await.unwrap().is_none());
    assert!(bus.read_last("not.a.hops.subject").await.is_err());
}

#[tokio::test]
async fn scan_events_returns_the_newest_first_and_pages() {
    let (_server, bus) = setup().await;
    let mut runs = Vec::new();
    for _ in 0..40 {
        let run = run_id();
        publish_run(&bus, &run).await;
        runs.push(run);
    }
    let newest: Vec<String> = runs.iter().rev().cloned().collect();

    let page = bus.scan_events(EventScan::latest(10)).await.unwrap();
    let ids: Vec<&str> = page.iter().map(|m| m.subject.run_id.as_str()).collect();
    assert_eq!(
        ids,
        newest[..10].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(page.iter().all(|m| m.subject.kind == SubjectKind::Event));

    let next = bus
        .scan_events(EventScan {
            before_sequence: Some(page[9].stream_sequence),
            ..EventScan::latest(10)
        })
        .await
        .unwrap();
    let ids: Vec<&str> = next.iter().map(|m| m.subject.run_id.as_str()).collect();
    assert_eq!(
        ids,
        newest[10..20]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );

    let everything = bus.scan_events(EventScan::latest(1_000)).await.unwrap();
    assert_eq!(everything.len(), 40);

    let future = bus
        .scan_events(EventScan {
            since: Some(Utc::now() + chrono::Duration::hours(1)),
            ..EventScan::latest(10)
        })
        .await
        .unwrap();
    assert!(future.is_empty());
    assert!(
        bus.scan_events(EventScan::latest(0))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn scan_events_is_bounded_in_a_long_stream() {
    let (_server, bus) = setup().await;
    let first = run_id();
    publish_run(&bus, &first).await;
    // Lots of non-event traffic after it: the scan widens its window until it finds the event.
    let run = run_id();
    let publishes = (0..3_000).map(|i| {
        let bus = bus.clone();
        let subject = bus.subjects().result(&run, &format!("p0-c{i}")).unwrap();
        async move { bus.publish_once(&subject, Bytes::new()).await.unwrap() }
    });
    futures::future::join_all(publishes).await;
    let found = bus.scan_events(EventScan::latest(5)).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject.run_id, first);
}

/// Prints the rough latency of reading a five-message run (the runner's hot path).
#[tokio::test]
async fn read_run_latency() {
    let (_server, bus) = setup().await;
    let run = run_id();
    publish_run(&bus, &run).await;
    const N: u32 = 300;
    let start = Instant::now();
    for _ in 0..N {
        assert_eq!(bus.read_run(&run, Channels::Notify).await.unwrap().len(), 4);
    }
    let per_read = start.elapsed() / N;
    eprintln!("read_run (4 messages): {per_read:?} per read (debug build)");
    assert!(per_read < Duration::from_secs(1));
}
