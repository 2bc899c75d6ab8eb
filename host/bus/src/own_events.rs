//! Events this connection stored, announced to one watcher in the same process: the runner of
//! a host evaluates an event it stored at once instead of waiting for its delivery (which
//! then only acks), as it does a result it stored.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::Utc;
use tokio::sync::mpsc;

use crate::connect::Bus;
use crate::error::BusError;
use crate::publish::Published;
use crate::read::RunMessage;

/// The watcher of stored events, if any.
#[derive(Debug, Default, Clone)]
pub(crate) struct StoredEvents(Arc<Mutex<Option<mpsc::UnboundedSender<RunMessage>>>>);

impl Bus {
    /// Publishes a run's source event once (see [`Bus::publish_once`]); when this publish
    /// stored it, the watcher of [`Bus::watch_stored_events`] hears of it.
    ///
    /// # Errors
    ///
    /// Those of [`Bus::publish_once`], and a bad run id.
    pub async fn publish_event(&self, run_id: &str, payload: Bytes) -> Result<Published, BusError> {
        let subject = self.subjects.event(run_id)?;
        let published = self.publish_once(&subject, payload.clone()).await?;
        if !published.duplicate
            && let Ok(watcher) = self.stored_events.0.lock()
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
        if let Ok(mut watcher) = self.stored_events.0.lock() {
            *watcher = Some(sender);
        }
        receiver
    }
}
