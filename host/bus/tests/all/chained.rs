//! Chained publishes (`Bus::send_once`): a message stored only right after a named one.

use bytes::Bytes;
use hops_bus::{Bus, Chained, HeaderMap, SubjectKind};

use crate::common::{run_id, setup};

async fn send(bus: &Bus, subject: &str, id: Option<&str>, after: Option<&str>) -> Chained {
    bus.send_once(
        subject,
        HeaderMap::new(),
        Bytes::from_static(b"{}"),
        id,
        after,
    )
    .await
    .unwrap()
    .outcome()
    .await
    .unwrap()
}

async fn stored_kinds(bus: &Bus, run: &str) -> Vec<SubjectKind> {
    bus.read_run_through(run, hops_bus::Channels::All, u64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.subject.kind)
        .collect()
}

#[tokio::test]
async fn three_messages_sent_back_to_back_are_stored_in_a_row() {
    let (_server, bus) = setup().await;
    assert!(bus.chains(), "a single server's stream is not replicated");
    let run = run_id();
    let subjects = bus.subjects();
    let event = bus
        .send_once(
            &subjects.event(&run).unwrap(),
            HeaderMap::new(),
            Bytes::from_static(b"{}"),
            Some("e"),
            None,
        )
        .await
        .unwrap();
    let pin = bus
        .send_once(
            &subjects.pin(&run).unwrap(),
            HeaderMap::new(),
            Bytes::from_static(b"{}"),
            Some("p"),
            Some("e"),
        )
        .await
        .unwrap();
    let request = bus
        .send_once(
            &subjects.request(&run, "c", "app", "h").unwrap(),
            HeaderMap::new(),
            Bytes::from_static(b"{}"),
            None,
            Some("p"),
        )
        .await
        .unwrap();
    let Chained::Stored(event) = event.outcome().await.unwrap() else {
        panic!("the event is stored");
    };
    assert_eq!(pin.outcome().await.unwrap(), Chained::Stored(event + 1));
    assert_eq!(request.outcome().await.unwrap(), Chained::Stored(event + 2));
}

#[tokio::test]
async fn a_message_stored_in_between_refuses_the_chained_one() {
    let (_server, bus) = setup().await;
    let run = run_id();
    let subjects = bus.subjects();
    assert!(matches!(
        send(&bus, &subjects.event(&run).unwrap(), Some("e1"), None).await,
        Chained::Stored(_)
    ));
    // Anyone's message, with or without a name, comes between.
    bus.publish_once(
        &subjects.event(&run_id()).unwrap(),
        Bytes::from_static(b"{}"),
    )
    .await
    .unwrap();
    assert_eq!(
        send(&bus, &subjects.pin(&run).unwrap(), None, Some("e1")).await,
        Chained::NotAfter
    );
    assert_eq!(stored_kinds(&bus, &run).await, [SubjectKind::Event]);
}

#[tokio::test]
async fn a_message_after_a_refused_duplicate_is_refused_even_right_after_the_original() {
    let (_server, bus) = setup().await;
    let run = run_id();
    let subjects = bus.subjects();
    let event = subjects.event(&run).unwrap();
    // The original is the last message stored when its duplicate comes.
    assert!(matches!(
        send(&bus, &event, Some("first"), None).await,
        Chained::Stored(_)
    ));
    assert_eq!(
        send(&bus, &event, Some("second"), None).await,
        Chained::Duplicate
    );
    assert_eq!(
        send(&bus, &subjects.pin(&run).unwrap(), None, Some("second")).await,
        Chained::NotAfter,
        "nothing follows a message that was not stored"
    );
    // The original still names the last message: what follows it may be stored.
    assert!(matches!(
        send(&bus, &subjects.pin(&run).unwrap(), None, Some("first")).await,
        Chained::Stored(_)
    ));
    assert_eq!(
        stored_kinds(&bus, &run).await,
        [SubjectKind::Event, SubjectKind::Pin]
    );
}
