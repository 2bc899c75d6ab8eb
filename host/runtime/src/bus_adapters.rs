//! The bus behind the runtime's small interfaces: pipeline versions in the object store, and
//! source events published as new runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use hops_bus::{Bus, BusError};
use hops_core::{EmitError, Emitted, EventSink, SourceEvent};

use crate::pipelines::VersionStore;

/// Pipeline versions in the JetStream object store, shared by every replica.
pub struct BusVersions(pub Arc<Bus>);

#[async_trait]
impl VersionStore for BusVersions {
    async fn put(&self, hash: &str, files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
        Ok(self.0.put_pipeline_set(hash, files).await?)
    }

    async fn get(&self, hash: &str) -> anyhow::Result<Option<BTreeMap<String, Vec<u8>>>> {
        match self.0.get_pipeline_set(hash).await {
            Ok(files) => Ok(Some((*files).clone())),
            Err(BusError::PipelineSetNotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

/// Publishes source events on `…notify.<run>.event` (once per run id).
pub struct BusEvents(pub Arc<Bus>);

#[async_trait]
impl EventSink for BusEvents {
    async fn emit(&self, event: SourceEvent, run_id: String) -> Result<Emitted, EmitError> {
        let published = self
            .0
            .publish_event(&run_id, Bytes::from(event.to_bytes()))
            .await
            .map_err(|e| EmitError::Bus(e.to_string()))?;
        Ok(Emitted {
            run_id,
            duplicate: published.duplicate,
        })
    }
}
