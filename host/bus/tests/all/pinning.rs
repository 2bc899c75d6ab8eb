//! Pipeline sets in the object store, and run pinning.

use std::collections::BTreeMap;

use base64::Engine as _;
use hops_bus::{Bus, BusError, PIPELINES_BUCKET, PipelineFiles, pipeline_set_hash};

use crate::common::{config, run_id, setup};

fn files() -> PipelineFiles {
    [
        (
            "deploy/main.hops".to_owned(),
            b"on ping { call http_do {} }\n".to_vec(),
        ),
        ("tasks.hops".to_owned(), b"task restart {}\n".to_vec()),
        ("binary.bin".to_owned(), vec![0, 255, 1, 254]),
    ]
    .into()
}

#[tokio::test]
async fn pipeline_set_round_trips_through_the_object_store() {
    let (server, bus) = setup().await;
    let files = files();
    let hash = pipeline_set_hash(&files);
    bus.put_pipeline_set(&hash, &files).await.unwrap();
    bus.put_pipeline_set(&hash, &files).await.unwrap(); // idempotent

    // A fresh connection has an empty cache: this really reads the store.
    let other = Bus::connect(config(&server)).await.unwrap();
    let fetched = other.get_pipeline_set(&hash).await.unwrap();
    assert_eq!(*fetched, files);
    // Cached now: the same Arc comes back.
    let again = other.get_pipeline_set(&hash).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&fetched, &again));

    // Stored as a JSON object path → base64, under the hash.
    let store = bus
        .jetstream()
        .get_object_store(PIPELINES_BUCKET)
        .await
        .unwrap();
    let mut object = store.get(&hash).await.unwrap();
    let mut body = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut object, &mut body)
        .await
        .unwrap();
    let json: BTreeMap<String, String> = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json["binary.bin"],
        base64::engine::general_purpose::STANDARD.encode([0, 255, 1, 254])
    );
}

#[tokio::test]
async fn a_missing_set_is_not_found() {
    let (_server, bus) = setup().await;
    let err = bus.get_pipeline_set(&"ab".repeat(32)).await.unwrap_err();
    assert!(
        matches!(err, BusError::PipelineSetNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("hops-pipelines"), "{err}");
}

#[tokio::test]
async fn corrupted_sets_are_detected_with_the_cause() {
    let (server, bus) = setup().await;
    let files = files();
    let hash = pipeline_set_hash(&files);
    bus.put_pipeline_set(&hash, &files).await.unwrap();
    let store = bus
        .jetstream()
        .get_object_store(PIPELINES_BUCKET)
        .await
        .unwrap();

    // Valid encoding, other contents: the recomputed hash differs.
    let mut tampered = files.clone();
    tampered.insert("tasks.hops".into(), b"task evil {}\n".to_vec());
    let encoded: BTreeMap<&str, String> = tampered
        .iter()
        .map(|(p, c)| {
            (
                p.as_str(),
                base64::engine::general_purpose::STANDARD.encode(c),
            )
        })
        .collect();
    let body = serde_json::to_vec(&encoded).unwrap();
    store
        .put(hash.as_str(), &mut body.as_slice())
        .await
        .unwrap();
    let fresh = Bus::connect(config(&server)).await.unwrap();
    let err = fresh.get_pipeline_set(&hash).await.unwrap_err();
    assert!(
        matches!(err, BusError::PipelineSetCorrupted { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("its files hash to"), "{err}");

    // Not JSON at all: the parse error is the source, not lost.
    store
        .put(hash.as_str(), &mut &b"not json"[..])
        .await
        .unwrap();
    let fresh = Bus::connect(config(&server)).await.unwrap();
    let err = fresh.get_pipeline_set(&hash).await.unwrap_err();
    assert!(
        matches!(err, BusError::PipelineSetCorrupted { .. }),
        "{err:?}"
    );
    let source = std::error::Error::source(&err).expect("the cause is kept");
    assert!(source.to_string().contains("expected"), "{source}");
}

#[tokio::test]
async fn the_hash_counts_paths_and_rejects_a_wrong_one() {
    let (_server, bus) = setup().await;
    let files = files();
    let mut renamed = files.clone();
    let content = renamed.remove("tasks.hops").unwrap();
    renamed.insert("renamed.hops".into(), content);
    assert_ne!(pipeline_set_hash(&files), pipeline_set_hash(&renamed));
    let err = bus
        .put_pipeline_set(&pipeline_set_hash(&files), &renamed)
        .await
        .unwrap_err();
    assert!(
        matches!(err, BusError::PipelineSetHashMismatch { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn concurrent_pins_agree_on_the_first_winner() {
    let (server, bus) = setup().await;
    let other = Bus::connect(config(&server)).await.unwrap();
    for _ in 0..10 {
        let run = run_id();
        let (a, b) = tokio::join!(bus.pin_run(&run, "hash-a"), other.pin_run(&run, "hash-b"));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a, b, "both see the same winner");
        assert!(a == "hash-a" || a == "hash-b");
        let stored = bus
            .read_last(&bus.subjects().pin(&run).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.payload, serde_json::to_vec(&a).unwrap());
        // A later pin keeps the first one.
        assert_eq!(bus.pin_run(&run, "hash-c").await.unwrap(), a);
    }
}
