//! Retention: reading which runs ended before a time, and removing a run's messages and the
//! payload objects they reference. Which runs may go is the caller's decision (the runtime
//! purges only runs whose run-level done marker is old enough); a run's subjects are freed
//! only once it has ended, so nothing still going loses its exactly-once guarantee.

use chrono::{DateTime, Utc};
use tracing::Instrument as _;

use crate::subjects::Channels;
use crate::{Bus, BusError, PAYLOAD_OBJECT_HEADER, RunMessage};

impl Bus {
    /// Every message matching `filter` stored before `before`, oldest first, payloads as
    /// stored (references to the object store are not resolved).
    pub async fn scan_before(
        &self,
        filter: &str,
        before: DateTime<Utc>,
    ) -> Result<Vec<RunMessage>, BusError> {
        let span = tracing::debug_span!("hops.bus.scan_before", filter = %filter);
        async move {
            let mut found = self.read_all_matching(filter).await?;
            found.retain(|m| m.published < before);
            Ok(found)
        }
        .instrument(span)
        .await
    }

    /// Removes every message of run `run_id` (all channels) and the payload objects they
    /// reference; returns how many messages went. A run with nothing stored purges nothing.
    pub async fn purge_run(&self, run_id: &str) -> Result<u64, BusError> {
        let filter = self.subjects.run_filter(run_id, Channels::All)?;
        let span = tracing::debug_span!("hops.bus.purge_run", run_id = %run_id);
        async move {
            let objects: Vec<String> = self
                .read_all_matching(&filter)
                .await?
                .iter()
                .filter_map(|m| m.headers.as_ref()?.get(PAYLOAD_OBJECT_HEADER))
                .map(|v| v.as_str().to_owned())
                .collect();
            let stream = self.stream_handle().await?;
            let purged = stream
                .purge()
                .filter(filter.clone())
                .await
                .map_err(|e| BusError::nats("purge run", &filter, e))?
                .purged;
            // Messages first: a reader never finds a reference to a deleted object.
            for object in &objects {
                self.discard_payload(object).await;
            }
            Ok(purged)
        }
        .instrument(span)
        .await
    }
}
