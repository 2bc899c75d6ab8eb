//! The sequences a connection saw stored (`Bus::stored_for_another_run`).

use bytes::Bytes;
use futures::StreamExt as _;
use hops_bus::{EphemeralConsumerOptions, HeaderMap};

use crate::common::{config, run_id, setup};

#[tokio::test]
async fn what_this_connection_published_is_known_by_run() {
    let (_server, bus) = setup().await;
    let (mine, theirs) = (run_id(), run_id());
    let subjects = bus.subjects();
    let event = |run: &str| subjects.event(run).unwrap();
    let my_event = bus
        .publish_once(&event(&mine), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let their_event = bus
        .publish_once(&event(&theirs), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let my_request = bus
        .send_once(
            &subjects.request(&mine, "c", "app", "h").unwrap(),
            HeaderMap::new(),
            Bytes::new(),
            None,
            None,
        )
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap();
    let hops_bus::Chained::Stored(my_request) = my_request else {
        panic!("stored");
    };
    assert!(bus.stored_for_another_run(their_event.sequence, &mine));
    assert!(!bus.stored_for_another_run(my_event.sequence, &mine));
    assert!(
        bus.stored_for_another_run(my_request, &mine),
        "a request is not read with the run's results"
    );
    assert!(
        !bus.stored_for_another_run(my_request + 1, &mine),
        "not seen"
    );
}

#[tokio::test]
async fn what_another_connection_published_is_known_once_delivered() {
    let (server, bus) = setup().await;
    let other = hops_bus::Bus::connect(config(&server)).await.unwrap();
    let (mine, theirs) = (run_id(), run_id());
    let stored = other
        .publish_once(&bus.subjects().event(&theirs).unwrap(), Bytes::new())
        .await
        .unwrap();
    assert!(
        !bus.stored_for_another_run(stored.sequence, &mine),
        "not seen by this connection yet"
    );
    let consumer = bus
        .ephemeral_consumer(EphemeralConsumerOptions::all(bus.subjects().all_notify()))
        .await
        .unwrap();
    let mut deliveries = consumer.messages(10).await.unwrap();
    let delivery = deliveries.next().await.unwrap().unwrap();
    assert_eq!(delivery.stream_sequence, stored.sequence);
    assert!(bus.stored_for_another_run(stored.sequence, &mine));
    assert!(!bus.stored_for_another_run(stored.sequence, &theirs));
}
