//! Shared helpers.

use std::time::Duration;

use hops_bus::{Bus, BusConfig};
use hops_testutil::NatsServer;

/// A run id that is unique per call.
pub fn run_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "run-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A config for `server` with short timeouts, so failures show quickly.
pub fn config(server: &NatsServer) -> BusConfig {
    let mut config = BusConfig::new(server.url());
    config.request_timeout = Duration::from_secs(5);
    config
}

/// A server with a connected bus and the stream in place.
pub async fn setup() -> (NatsServer, Bus) {
    hops_testutil::init_tracing();
    let server = NatsServer::start().await;
    let bus = Bus::connect(config(&server)).await.unwrap();
    bus.ensure_stream().await.unwrap();
    (server, bus)
}
