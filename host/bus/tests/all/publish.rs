//! Publish-once.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hops_bus::HeaderMap;

use crate::common::{run_id, setup};

#[tokio::test]
async fn second_publish_is_a_duplicate_not_an_error() {
    let (_server, bus) = setup().await;
    let subject = bus.subjects().event(&run_id()).unwrap();
    let first = bus
        .publish_once(&subject, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert!(!first.duplicate);
    assert!(first.sequence > 0);
    let second = bus
        .publish_once(&subject, Bytes::from_static(b"other"))
        .await
        .unwrap();
    assert!(second.duplicate);
    assert_eq!(second.sequence, 0);
    let stored = bus.read_last(&subject).await.unwrap().unwrap();
    assert_eq!(
        stored.payload,
        Bytes::from_static(b"{}"),
        "the first message stands"
    );
    assert_eq!(stored.stream_sequence, first.sequence);
}

#[tokio::test]
async fn concurrent_publishes_of_one_subject_have_exactly_one_winner() {
    let (_server, bus) = setup().await;
    for round in 0..5 {
        let subject = bus.subjects().result(&run_id(), "p0-http_do0").unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let bus = bus.clone();
                let subject = subject.clone();
                tokio::spawn(async move {
                    bus.publish_once(&subject, Bytes::from(format!("{i}")))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let published = task.await.unwrap();
            if !published.duplicate {
                winners.push(published.sequence);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let stored = bus.read_last(&subject).await.unwrap().unwrap();
        assert_eq!(stored.stream_sequence, winners[0]);
    }
}

#[tokio::test]
async fn headers_are_stored() {
    let (_server, bus) = setup().await;
    let subject = bus.subjects().event(&run_id()).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("Hops-Source", "test");
    let published = bus
        .publish_once_with_headers(&subject, headers, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert!(!published.duplicate);
    let stored = bus.read_last(&subject).await.unwrap().unwrap();
    let headers = stored.headers.expect("headers kept");
    assert_eq!(headers.get("Hops-Source").map(|v| v.as_str()), Some("test"));
}

/// Prints rough latencies; asserts only that a duplicate is answered at once (a duplicate
/// handled through a timeout would take seconds).
#[tokio::test]
async fn publish_and_duplicate_latency() {
    let (_server, bus) = setup().await;
    const N: u32 = 500;
    let subjects: Vec<String> = (0..N)
        .map(|_| bus.subjects().event(&run_id()).unwrap())
        .collect();
    let payload = Bytes::from_static(b"{\"hops\":{}}");
    let start = Instant::now();
    for s in &subjects {
        assert!(
            !bus.publish_once(s, payload.clone())
                .await
                .unwrap()
                .duplicate
        );
    }
    let publish = start.elapsed() / N;
    let start = Instant::now();
    for s in &subjects {
        assert!(
            bus.publish_once(s, payload.clone())
                .await
                .unwrap()
                .duplicate
        );
    }
    let duplicate = start.elapsed() / N;
    eprintln!("publish_once: {publish:?} per publish, {duplicate:?} per duplicate (debug build)");
    assert!(duplicate < Duration::from_millis(50), "{duplicate:?}");
}

/// Objects in the payload bucket (none when it does not exist yet).
async fn payload_objects(bus: &hops_bus::Bus) -> usize {
    use futures::StreamExt as _;
    let js = async_nats::jetstream::new(bus.client().clone());
    let Ok(store) = js.get_object_store(hops_bus::PAYLOADS_BUCKET).await else {
        return 0;
    };
    let mut list = store.list().await.unwrap();
    let mut n = 0;
    while let Some(object) = list.next().await {
        object.unwrap();
        n += 1;
    }
    n
}

#[tokio::test]
async fn a_large_payload_is_kept_in_the_object_store_and_a_refused_duplicate_leaves_none_behind() {
    hops_testutil::init_tracing();
    let server = hops_testutil::NatsServer::start().await;
    let mut config = crate::common::config(&server);
    config.payload_inline_max = Some(1024);
    let bus = hops_bus::Bus::connect(config).await.unwrap();
    bus.ensure_stream().await.unwrap();
    let subject = bus.subjects().event(&run_id()).unwrap();
    let first = Bytes::from(format!("{{\"blob\":\"{}\"}}", "a".repeat(4000)));
    let other = Bytes::from(format!("{{\"blob\":\"{}\"}}", "b".repeat(4000)));

    assert!(
        !bus.publish_once(&subject, first.clone())
            .await
            .unwrap()
            .duplicate
    );
    assert_eq!(payload_objects(&bus).await, 1);
    let stored = bus.read_last(&subject).await.unwrap().unwrap();
    assert_eq!(stored.payload, first, "read back from the object store");

    assert!(bus.publish_once(&subject, other).await.unwrap().duplicate);
    assert_eq!(
        payload_objects(&bus).await,
        1,
        "the refused duplicate's payload object is removed"
    );
    let stored = bus.read_last(&subject).await.unwrap().unwrap();
    assert_eq!(stored.payload, first, "the first message stands");
}
