//! Events this connection stored, announced to one watcher in the same process: the runner of
//! a host evaluates an event it stored at once instead of waiting for its delivery (which
//! then only acks), as it does a result it stored. Before that, an [`EventStarter`] (the same
//! runner) may take the publish over and store the event together with its run's first step.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::Utc;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::connect::Bus;
use crate::error::BusError;
use crate::publish::Published;
use crate::read::RunMessage;

/// Publishes an event and starts its run in the same round trip: the runner of a host that
/// serves the run's first call sends the event, the run's pin and the call's request back to
/// back, each chained to the one before ([`Bus::send_once`]).
pub trait EventStarter: Send + Sync {
    /// Stores `payload` on `subject`, the source event of run `run_id` (publish-once, as
    /// [`Bus::publish_once`]), and starts the run. `None` when it does not take this event and
    /// sent nothing: the bus then publishes it the usual way.
    fn start<'a>(
        &'a self,
        run_id: &'a str,
        subject: &'a str,
        payload: &'a Bytes,
    ) -> BoxFuture<'a, Option<Result<Published, BusError>>>;
}

/// The watcher of stored events and the event starter, if any.
#[derive(Default, Clone)]
pub(crate) struct StoredEvents {
    watcher: Arc<Mutex<Option<mpsc::UnboundedSender<RunMessage>>>>,
    starter: Arc<Mutex<Option<Arc<dyn EventStarter>>>>,
}

impl std::fmt::Debug for StoredEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredEvents").finish_non_exhaustive()
    }
}

impl Bus {
    /// Publishes a run's source event once (see [`Bus::publish_once`]). The event starter of
    /// [`Bus::set_event_starter`] gets it first (an inline payload only) and may store it
    /// together with its run's first step; otherwise, when this publish stored it, the watcher
    /// of [`Bus::watch_stored_events`] hears of it.
    ///
    /// # Errors
    ///
    /// Those of [`Bus::publish_once`], and a bad run id.
    pub async fn publish_event(&self, run_id: &str, payload: Bytes) -> Result<Published, BusError> {
        let subject = self.subjects.event(run_id)?;
        let starter = self
            .stored_events
            .starter
            .lock()
            .ok()
            .and_then(|starter| starter.clone());
        if let Some(starter) = starter
            && payload.len() <= self.payload_inline_max()
            && let Some(started) = starter.start(run_id, &subject, &payload).await
        {
            return started;
        }
        let published = self.publish_once(&subject, payload.clone()).await?;
        if !published.duplicate
            && let Ok(watcher) = self.stored_events.watcher.lock()
            && let Some(watcher) = watcher.as_ref()
            && let Ok(parsed) = self.subjects.parse(&subject)
        {
            let _ = watcher.send(RunMessage {
                subject: parsed,
                payload,
                headers: None,
                stream_sequence: published.sequence,
                published: Utc::now(),
            });
        }
        Ok(published)
    }

    /// Events this connection stores from now on (replacing an earlier watcher). Nothing is
    /// held for a watcher that stopped listening.
    pub fn watch_stored_events(&self) -> mpsc::UnboundedReceiver<RunMessage> {
        let (sender, receiver) = mpsc::unbounded_channel();
        if let Ok(mut watcher) = self.stored_events.watcher.lock() {
            *watcher = Some(sender);
        }
        receiver
    }

    /// Lets `starter` take over the events this connection publishes from now on (replacing
    /// an earlier one). It must answer `None` once it can no longer start runs.
    pub fn set_event_starter(&self, starter: Arc<dyn EventStarter>) {
        if let Ok(mut current) = self.stored_events.starter.lock() {
            *current = Some(starter);
        }
    }
}
