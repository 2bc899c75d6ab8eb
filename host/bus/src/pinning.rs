//! Pipeline version pinning (hops §3.8, with its bugs fixed): pipeline sets are stored in the
//! JetStream object store under their hash, and each run records the hash it started with.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::object_store::{self, GetErrorKind, ObjectStore};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::sync::OnceCell;
use tracing::Instrument;

pub use hops_core::pipeline_set_hash;

use crate::cache::Lru;
use crate::connect::Bus;
use crate::error::BusError;

/// Object store bucket holding pipeline sets.
pub const PIPELINES_BUCKET: &str = "hops-pipelines";

/// A pipeline set: relative path → file contents.
pub type PipelineFiles = BTreeMap<String, Vec<u8>>;

/// Pipeline sets kept in memory, at most this many…
const CACHE_ENTRIES: usize = 32;
/// …and at most this many bytes of file contents.
const CACHE_BYTES: usize = 64 * 1024 * 1024;
/// Attempts of the publish/read-back race in [`Bus::pin_run`].
const PIN_ATTEMPTS: usize = 3;

/// The object store handle (opened once) and the bounded cache of fetched sets.
pub(crate) struct PipelineCache {
    store: OnceCell<ObjectStore>,
    sets: Mutex<Lru<PipelineFiles>>,
}

impl Default for PipelineCache {
    fn default() -> Self {
        PipelineCache {
            store: OnceCell::new(),
            sets: Mutex::new(Lru::new(CACHE_ENTRIES, CACHE_BYTES)),
        }
    }
}

impl fmt::Debug for PipelineCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.sets.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("PipelineCache")
            .field("store_open", &self.store.initialized())
            .field("cached_sets", &cached)
            .finish()
    }
}

impl PipelineCache {
    fn get(&self, hash: &str) -> Option<Arc<PipelineFiles>> {
        self.sets.lock().ok()?.get(hash)
    }

    fn insert(&self, hash: &str, files: Arc<PipelineFiles>) {
        let size = files.iter().map(|(p, c)| p.len() + c.len()).sum();
        if let Ok(mut sets) = self.sets.lock() {
            sets.insert(hash, files, size);
        }
    }
}

impl Bus {
    /// Stores a pipeline set under `hash` (which must be [`pipeline_set_hash`] of `files`) as a
    /// JSON object `path → base64(contents)`. Storing a hash that is already there is a no-op.
    pub async fn put_pipeline_set(
        &self,
        hash: &str,
        files: &PipelineFiles,
    ) -> Result<(), BusError> {
        let span =
            tracing::info_span!("hops.bus.put_pipeline_set", hash = %hash, files = files.len());
        async move {
            let actual = pipeline_set_hash(files);
            if actual != hash {
                return Err(BusError::PipelineSetHashMismatch {
                    given: hash.to_owned(),
                    actual,
                });
            }
            let store = self.pipeline_store().await?;
            if store.info(hash).await.is_ok_and(|info| !info.deleted) {
                self.pipelines.insert(hash, Arc::new(files.clone()));
                return Ok(());
            }
            let encoded: BTreeMap<&str, String> = files
                .iter()
                .map(|(path, content)| (path.as_str(), STANDARD.encode(content)))
                .collect();
            let body = serde_json::to_vec(&encoded)
                .map_err(|e| BusError::nats("encode pipeline set", hash, e))?;
            store
                .put(hash, &mut body.as_slice())
                .await
                .map_err(|e| BusError::nats("store pipeline set", hash, e))?;
            self.pipelines.insert(hash, Arc::new(files.clone()));
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// The pipeline set stored under `hash`, from the in-process cache or the object store.
    /// A fetched set is checked: its recomputed hash must equal `hash`.
    ///
    /// # Errors
    ///
    /// [`BusError::PipelineSetNotFound`], or [`BusError::PipelineSetCorrupted`] with the cause.
    pub async fn get_pipeline_set(&self, hash: &str) -> Result<Arc<PipelineFiles>, BusError> {
        if let Some(files) = self.pipelines.get(hash) {
            return Ok(files);
        }
        let span = tracing::info_span!("hops.bus.get_pipeline_set", hash = %hash);
        async move {
            let store = self.pipeline_store().await?;
            let mut object = store.get(hash).await.map_err(|e| match e.kind() {
                GetErrorKind::NotFound | GetErrorKind::InvalidName => {
                    BusError::PipelineSetNotFound {
                        hash: hash.to_owned(),
                        bucket: PIPELINES_BUCKET,
                    }
                }
                GetErrorKind::TimedOut => BusError::timeout("get pipeline set", hash),
                _ => BusError::nats("get pipeline set", hash, e),
            })?;
            let mut body = Vec::with_capacity(object.info().size.min(CACHE_BYTES));
            object
                .read_to_end(&mut body)
                .await
                .map_err(|e| corrupted(hash, "reading it failed", Some(e.into())))?;
            let files = Arc::new(decode_set(hash, &body)?);
            self.pipelines.insert(hash, files.clone());
            Ok(files)
        }
        .instrument(span)
        .await
    }

    /// Pins run `run_id` to pipeline version `hash` by publishing it once on
    /// `…notify.<run>.hops`. Returns the winning hash: `hash`, or the one another replica pinned
    /// first.
    pub async fn pin_run(&self, run_id: &str, hash: &str) -> Result<String, BusError> {
        Ok(self.pin_run_once(run_id, hash).await?.0)
    }

    /// [`Bus::pin_run`], also giving the stream sequence of the pin when this call stored it
    /// (`None` when it found one).
    pub async fn pin_run_once(
        &self,
        run_id: &str,
        hash: &str,
    ) -> Result<(String, Option<u64>), BusError> {
        let subject = self.subjects.pin(run_id)?;
        let span = tracing::debug_span!("hops.bus.pin_run", run_id = %run_id, subject = %subject);
        async move {
            let payload = Bytes::from(
                serde_json::to_vec(hash).map_err(|e| BusError::nats("encode pin", &subject, e))?,
            );
            for _ in 0..PIN_ATTEMPTS {
                let published = self.publish_once(&subject, payload.clone()).await?;
                if !published.duplicate {
                    return Ok((hash.to_owned(), Some(published.sequence)));
                }
                // Someone pinned first: theirs wins. (If it vanished meanwhile, try again.)
                if let Some(message) = self.read_last(&subject).await? {
                    return serde_json::from_slice::<String>(&message.payload)
                        .map(|pin| (pin, None))
                        .map_err(|e| BusError::nats("decode pin", &subject, e));
                }
            }
            Err(BusError::nats(
                "pin run",
                &subject,
                "the pin subject reports a duplicate but holds no message",
            ))
        }
        .instrument(span)
        .await
    }

    /// Opens (or creates) the pipeline bucket once per connection.
    async fn pipeline_store(&self) -> Result<ObjectStore, BusError> {
        self.pipelines
            .store
            .get_or_try_init(|| async {
                if let Ok(store) = self.js.get_object_store(PIPELINES_BUCKET).await {
                    return Ok(store);
                }
                let config = object_store::Config {
                    bucket: PIPELINES_BUCKET.to_owned(),
                    description: Some("hops pipeline sets by version hash".to_owned()),
                    num_replicas: self.stream_replicas,
                    ..Default::default()
                };
                match self.js.create_object_store(config).await {
                    Ok(store) => Ok(store),
                    // Created concurrently by another replica.
                    Err(create_err) => {
                        self.js
                            .get_object_store(PIPELINES_BUCKET)
                            .await
                            .map_err(|_| {
                                BusError::nats("open object store", PIPELINES_BUCKET, create_err)
                            })
                    }
                }
            })
            .await
            .cloned()
    }
}

/// Decodes a stored set and checks its hash.
fn decode_set(hash: &str, body: &[u8]) -> Result<PipelineFiles, BusError> {
    let encoded: BTreeMap<String, String> = serde_json::from_slice(body).map_err(|e| {
        corrupted(
            hash,
            "it is not a json object of path → base64 contents",
            Some(e.into()),
        )
    })?;
    let mut files = PipelineFiles::new();
    for (path, content) in encoded {
        let bytes = STANDARD.decode(content.as_bytes()).map_err(|e| {
            corrupted(
                hash,
                &format!("file {path:?} is not valid base64"),
                Some(e.into()),
            )
        })?;
        files.insert(path, bytes);
    }
    let actual = pipeline_set_hash(&files);
    if actual != hash {
        return Err(corrupted(
            hash,
            &format!("its files hash to {actual}"),
            None,
        ));
    }
    Ok(files)
}

fn corrupted(hash: &str, reason: &str, source: Option<crate::error::BoxError>) -> BusError {
    BusError::PipelineSetCorrupted {
        hash: hash.to_owned(),
        bucket: PIPELINES_BUCKET,
        reason: reason.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> PipelineFiles {
        [
            ("a/main.hops".to_owned(), b"on x {}".to_vec()),
            ("b.hops".to_owned(), vec![0, 159, 146, 150]),
        ]
        .into()
    }

    #[test]
    fn decode_checks_the_hash() {
        let files = set();
        let hash = pipeline_set_hash(&files);
        let body = serde_json::to_vec(
            &files
                .iter()
                .map(|(p, c)| (p.clone(), STANDARD.encode(c)))
                .collect::<BTreeMap<_, _>>(),
        )
        .unwrap();
        assert_eq!(decode_set(&hash, &body).unwrap(), files);

        let err = decode_set(&"0".repeat(64), &body).unwrap_err().to_string();
        assert!(
            err.contains("corrupted") && err.contains(&format!("hash to {hash}")),
            "{err}"
        );
        let err = decode_set(&hash, b"[1,2]").unwrap_err();
        assert!(
            std::error::Error::source(&err).is_some(),
            "parse error kept as the cause"
        );
        let err = decode_set(&hash, br#"{"a":"not base64!"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"a\" is not valid base64"), "{err}");
    }
}
