//! The floor: a bare JetStream publish (with its ack) plus a pull-consumer delivery, measured
//! on the same server in the same run as the Hops figures.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer::pull, stream};
use futures::StreamExt as _;

/// The floor's figures, in milliseconds.
pub struct Floor {
    /// Publish-with-ack, then receive and ack the delivery: one JetStream hop.
    pub hop: Vec<f64>,
    /// Publish-with-ack alone: the part of a hop a publisher waits for.
    pub publish: Vec<f64>,
}

/// Round trips (ms) of publish-with-ack then receive-and-ack on a scratch stream, and of
/// publish-with-ack alone.
pub async fn round_trips(client: &async_nats::Client, count: usize) -> anyhow::Result<Floor> {
    let js = jetstream::new(client.clone());
    let stream = js
        .get_or_create_stream(stream::Config {
            name: "HOPSBENCHFLOOR".to_owned(),
            subjects: vec!["hopsbenchfloor.>".to_owned()],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .context("creating the floor stream")?;
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("floor".to_owned()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .context("creating the floor consumer")?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(1)
        .heartbeat(Duration::from_secs(5))
        .messages()
        .await
        .context("pulling from the floor consumer")?;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        js.publish(format!("hopsbenchfloor.{i}"), "x".into())
            .await?
            .await
            .context("floor publish")?;
        let message = messages
            .next()
            .await
            .context("the floor consumer ended")?
            .map_err(|e| anyhow::anyhow!("floor receive: {e}"))?;
        message
            .ack()
            .await
            .map_err(|e| anyhow::anyhow!("floor ack: {e}"))?;
        out.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    drop(messages);
    let mut publish = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        js.publish(format!("hopsbenchfloor.p{i}"), "x".into())
            .await?
            .await
            .context("floor publish")?;
        publish.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = js.delete_stream("HOPSBENCHFLOOR").await;
    Ok(Floor { hop: out, publish })
}
