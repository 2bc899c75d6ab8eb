//! Stream bootstrap and check.

use async_nats::jetstream::stream::{Config, DiscardPolicy};
use bytes::Bytes;
use hops_bus::{Bus, BusError, StreamStatus, stream_config};
use hops_testutil::NatsServer;

use crate::common::{config, run_id};

async fn connect(server: &NatsServer) -> Bus {
    hops_testutil::init_tracing();
    Bus::connect(config(server)).await.unwrap()
}

#[tokio::test]
async fn stream_is_created_when_missing_then_accepted() {
    let server = NatsServer::start().await;
    let bus = connect(&server).await;
    assert_eq!(bus.ensure_stream().await.unwrap(), StreamStatus::Created);
    assert_eq!(bus.ensure_stream().await.unwrap(), StreamStatus::Existing);

    // What the server kept (nats-server 2.9 knows discard_new_per_subject; one that did not
    // would have failed the check inside ensure_stream).
    let mut stream = bus.jetstream().get_stream("HOPS").await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(info.config.subjects, vec!["hops.>".to_owned()]);
    assert_eq!(info.config.max_messages_per_subject, 1);
    assert_eq!(info.config.discard, DiscardPolicy::New);
    assert!(info.config.discard_new_per_subject);
    assert!(info.config.max_age.is_zero());
    assert_eq!(
        info.config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
}

#[tokio::test]
async fn stream_name_and_subjects_follow_the_account() {
    let server = NatsServer::start().await;
    hops_testutil::init_tracing();
    let bus = Bus::connect(
        config(&server)
            .with_account("acme-prod")
            .with_topic("local-1"),
    )
    .await
    .unwrap();
    bus.ensure_stream().await.unwrap();
    assert_eq!(bus.stream_name(), "ACME-PROD");
    let subject = bus.subjects().event(&run_id()).unwrap();
    assert!(subject.starts_with("acme-prod.local-1.notify."));
    assert!(
        !bus.publish_once(&subject, Bytes::new())
            .await
            .unwrap()
            .duplicate
    );
    assert!(
        bus.publish_once(&subject, Bytes::new())
            .await
            .unwrap()
            .duplicate
    );
}

#[tokio::test]
async fn existing_compatible_stream_is_accepted() {
    let server = NatsServer::start().await;
    let bus = connect(&server).await;
    let mut compatible = stream_config("HOPS", bus.subjects(), None, 1);
    compatible.subjects = vec!["hops.>".into(), "audit.>".into()];
    compatible.description = Some("made by an operator".into());
    bus.jetstream().create_stream(compatible).await.unwrap();
    assert_eq!(bus.ensure_stream().await.unwrap(), StreamStatus::Existing);
}

async fn refused_with(server: &NatsServer, mutate: impl FnOnce(&mut Config)) -> String {
    let bus = connect(server).await;
    let mut config = stream_config("HOPS", bus.subjects(), None, 1);
    mutate(&mut config);
    bus.jetstream().create_stream(config).await.unwrap();
    let err = bus.ensure_stream().await.unwrap_err();
    assert!(
        matches!(err, BusError::IncompatibleStream { .. }),
        "{err:?}"
    );
    err.to_string()
}

#[tokio::test]
async fn per_subject_limit_of_ten_is_refused_with_the_setting_named() {
    let server = NatsServer::start().await;
    let msg = refused_with(&server, |c| c.max_messages_per_subject = 10).await;
    assert_eq!(
        msg,
        "stream HOPS has max_messages_per_subject = 10; hops needs 1 for exactly-once dispatch: \
         update the stream or point hops at another account"
    );
}

#[tokio::test]
async fn discard_old_is_refused() {
    let server = NatsServer::start().await;
    let msg = refused_with(&server, |c| {
        c.discard = DiscardPolicy::Old;
        c.discard_new_per_subject = false;
    })
    .await;
    assert!(msg.contains("has discard = old; hops needs new"), "{msg}");
}

#[tokio::test]
async fn discard_new_without_per_subject_is_refused() {
    let server = NatsServer::start().await;
    let msg = refused_with(&server, |c| c.discard_new_per_subject = false).await;
    assert!(
        msg.contains("discard_new_per_subject = false; hops needs true"),
        "{msg}"
    );
}

#[tokio::test]
async fn stream_not_covering_the_account_is_refused() {
    let server = NatsServer::start().await;
    let msg = refused_with(&server, |c| c.subjects = vec!["hops.other.>".into()]).await;
    assert!(msg.contains("has subjects = [\"hops.other.>\"]"), "{msg}");
    assert!(msg.contains("a subject covering hops.>"), "{msg}");
}

#[tokio::test]
async fn publishing_without_a_stream_is_a_typed_error() {
    let server = NatsServer::start().await;
    let bus = connect(&server).await;
    let subject = bus.subjects().event(&run_id()).unwrap();
    let err = bus.publish_once(&subject, Bytes::new()).await.unwrap_err();
    assert!(matches!(err, BusError::StreamMissing { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("ensure_stream"), "{err}");
}

#[tokio::test]
async fn more_replicas_than_a_single_server_has_is_a_clear_error() {
    let server = NatsServer::start().await;
    hops_testutil::init_tracing();
    let mut config = config(&server);
    config.stream_replicas = 3;
    let bus = Bus::connect(config).await.unwrap();
    let err = bus.ensure_stream().await.unwrap_err();
    assert!(
        matches!(err, BusError::StreamReplicas { replicas: 3, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("3 replicas") && message.contains("HOPS_STREAM_REPLICAS"),
        "{message}"
    );
}

#[tokio::test]
async fn the_age_limit_applies_to_an_existing_stream_and_hosts_without_one_leave_it() {
    let server = NatsServer::start().await;
    let bus = connect(&server).await;
    bus.ensure_stream().await.unwrap();
    let max_age = |bus: &Bus| {
        let js = bus.jetstream().clone();
        async move {
            js.get_stream("HOPS")
                .await
                .unwrap()
                .info()
                .await
                .unwrap()
                .config
                .max_age
        }
    };
    assert!(max_age(&bus).await.is_zero(), "no age limit unless asked");
    let mut limited = config(&server);
    limited.stream_max_age = Some(std::time::Duration::from_secs(90 * 86_400));
    let limited = Bus::connect(limited).await.unwrap();
    assert_eq!(
        limited.ensure_stream().await.unwrap(),
        StreamStatus::Existing
    );
    assert_eq!(max_age(&limited).await.as_secs(), 90 * 86_400);
    bus.ensure_stream().await.unwrap();
    assert_eq!(max_age(&bus).await.as_secs(), 90 * 86_400);
}
