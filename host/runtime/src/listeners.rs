//! Poll loops of listener apps: each listener with a poll interval gets its `tick` called on
//! that interval. A failing tick is logged and the loop goes on (the wasm layer restarts a
//! trapped listener with backoff); a replaced listener's loop restarts with the new version.

use std::collections::BTreeMap;
use std::sync::Arc;

use hops_core::{Listener, Listeners};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, warn};

/// Ticks every polling listener of `listeners` until `cancel`.
pub async fn run(listeners: Listeners, cancel: CancellationToken) {
    let mut changes = listeners.subscribe();
    let mut loops: BTreeMap<String, (Arc<dyn Listener>, CancellationToken)> = BTreeMap::new();
    loop {
        let names = listeners.names();
        loops.retain(|name, (current, stop)| {
            let same = listeners
                .get(name)
                .is_some_and(|now| Arc::ptr_eq(&now, current));
            if !same {
                stop.cancel();
            }
            same
        });
        for name in names {
            if loops.contains_key(&name) {
                continue;
            }
            let Some(listener) = listeners.get(&name) else {
                continue;
            };
            let stop = cancel.child_token();
            if let Some(every) = listener.poll_interval() {
                let span = tracing::info_span!("hops.runtime.listener.poll", app = %name);
                tokio::spawn(poll(Arc::clone(&listener), every, stop.clone()).instrument(span));
            }
            loops.insert(name, (listener, stop));
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
    }
}

async fn poll(listener: Arc<dyn Listener>, every: std::time::Duration, stop: CancellationToken) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick of a tokio interval fires at once; listeners start polling one interval in.
    interval.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        match listener.tick().await {
            Ok(()) => debug!("tick done"),
            Err(err) => warn!(error = %err, "listener tick failed"),
        }
    }
}
