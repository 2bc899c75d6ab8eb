//! A nats-server restart while clients are connected.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use hops_bus::{BusError, SubjectKind, WorkerConsumerOptions};

use crate::common::{run_id, setup};

#[tokio::test]
async fn the_bus_reconnects_and_keeps_working_after_a_server_restart() {
    let (mut server, bus) = setup().await;
    let run = run_id();
    let s = bus.subjects().clone();
    bus.publish_once(&s.event(&run).unwrap(), Bytes::new())
        .await
        .unwrap();
    let consumer = bus
        .worker_consumer("echo", &WorkerConsumerOptions::default())
        .await
        .unwrap();
    let mut deliveries = consumer.messages(10).await.unwrap();

    server.restart().await;

    // Publishing works again once the client has reconnected (it retries on its own).
    let subject = s.request(&run, "after", "echo", "run").unwrap();
    let start = Instant::now();
    loop {
        match bus.publish_once(&subject, Bytes::new()).await {
            Ok(published) => {
                assert!(!published.duplicate);
                break;
            }
            Err(err) => {
                assert!(err.is_transient(), "{err:?}");
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "no reconnect: {err}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    eprintln!(
        "publish worked again {:?} after the restart",
        start.elapsed()
    );
    assert!(bus.is_connected());
    // History survived and the consumer delivers the new request.
    assert_eq!(
        bus.read_run(&run, hops_bus::Channels::All)
            .await
            .unwrap()
            .len(),
        2
    );
    let delivery = loop {
        match tokio::time::timeout(Duration::from_secs(30), deliveries.next()).await {
            Ok(Some(Ok(d))) => break d,
            Ok(Some(Err(err))) => {
                // Missed heartbeats while the server was away: the stream recovers.
                assert!(matches!(err, BusError::Nats { .. }), "{err:?}");
            }
            Ok(None) => panic!("consumer stream ended"),
            Err(_) => panic!("no delivery within 30 s after the restart"),
        }
    };
    assert_eq!(
        delivery.subject.kind,
        SubjectKind::Request {
            call: "after".into(),
            app: "echo".into(),
            handler: "run".into()
        }
    );
    delivery.ack().await.unwrap();
    eprintln!("delivery resumed {:?} after the restart", start.elapsed());
}
