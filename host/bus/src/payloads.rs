//! Payloads larger than one NATS message: a call that returns a 50 MB HTTP body, inputs built
//! from it, a large event. The bytes go to the JetStream object store; the message on the
//! run's subject carries only a reference in its headers, so publish-once still decides which
//! message is *the* one, and every read hands back the full payload as if it had been inline.

use async_nats::HeaderMap;
use async_nats::jetstream::object_store::{self, GetErrorKind, ObjectStore};
use bytes::Bytes;
use tokio::io::AsyncReadExt as _;
use tokio::sync::OnceCell;

use crate::connect::Bus;
use crate::error::BusError;

/// Object store bucket of payloads too large to travel inline.
pub const PAYLOADS_BUCKET: &str = "hops-payloads";
/// Header naming the object that holds a message's payload.
pub const PAYLOAD_OBJECT_HEADER: &str = "Hops-Payload-Object";
/// Header with the stored payload's size in bytes.
pub const PAYLOAD_SIZE_HEADER: &str = "Hops-Payload-Size";

/// Inline limit when the configuration gives none: half the server's max payload (headers and
/// protocol need room), and never more than this.
const DEFAULT_INLINE_MAX: usize = 512 << 10;

/// The bucket handle (opened once) and the size limits.
pub(crate) struct PayloadStore {
    store: OnceCell<ObjectStore>,
    inline_max: Option<usize>,
    max: usize,
}

impl std::fmt::Debug for PayloadStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadStore")
            .field("store_open", &self.store.initialized())
            .field("inline_max", &self.inline_max)
            .field("max", &self.max)
            .finish()
    }
}

impl PayloadStore {
    pub(crate) fn new(inline_max: Option<usize>, max: usize) -> PayloadStore {
        PayloadStore {
            store: OnceCell::new(),
            inline_max,
            max,
        }
    }
}

/// Where a stored payload is, read from a message's headers.
fn reference(headers: Option<&HeaderMap>) -> Option<(String, usize)> {
    let headers = headers?;
    let object = headers.get(PAYLOAD_OBJECT_HEADER)?.as_str().to_owned();
    let size = headers
        .get(PAYLOAD_SIZE_HEADER)
        .and_then(|v| v.as_str().parse().ok())
        .unwrap_or(0);
    Some((object, size))
}

impl Bus {
    /// Payloads up to this size travel inside their message.
    pub fn payload_inline_max(&self) -> usize {
        let server = self.client.server_info().max_payload;
        let derived = if server == 0 {
            DEFAULT_INLINE_MAX
        } else {
            (server / 2).min(DEFAULT_INLINE_MAX)
        };
        self.payloads.inline_max.unwrap_or(derived).max(1)
    }

    /// The largest payload stored at all.
    pub fn payload_max(&self) -> usize {
        self.payloads.max
    }

    /// Stores `payload` in the payload bucket and returns the headers that refer to it.
    ///
    /// # Errors
    ///
    /// [`BusError::PayloadTooLarge`] over [`Bus::payload_max`]; bus failures otherwise.
    pub(crate) async fn store_payload(
        &self,
        subject: &str,
        payload: &Bytes,
    ) -> Result<(String, HeaderMap), BusError> {
        if payload.len() > self.payloads.max {
            return Err(BusError::PayloadTooLarge {
                subject: subject.to_owned(),
                size: payload.len(),
                max: self.payloads.max,
            });
        }
        let run = self
            .subjects
            .parse(subject)
            .map(|p| p.run_id)
            .unwrap_or_else(|_| "other".to_owned());
        // A unique name per attempt: if two publishers race for one subject, each stores its
        // own object and only the winner's is referenced (the loser deletes its own).
        let object = format!("{run}/{}", uuid::Uuid::new_v4().simple());
        let store = self.payload_bucket().await?;
        store
            .put(object.as_str(), &mut payload.as_ref())
            .await
            .map_err(|e| BusError::nats("store payload", &object, e))?;
        let mut headers = HeaderMap::new();
        headers.insert(PAYLOAD_OBJECT_HEADER, object.as_str());
        headers.insert(PAYLOAD_SIZE_HEADER, payload.len().to_string().as_str());
        tracing::debug!(subject, object = %object, size = payload.len(), "payload stored in the object store");
        Ok((object, headers))
    }

    /// Removes a stored payload that no message refers to (a lost publish race).
    pub(crate) async fn discard_payload(&self, object: &str) {
        if let Ok(store) = self.payload_bucket().await
            && let Err(err) = store.delete(object).await
        {
            tracing::debug!(object, error = %err, "could not delete an unused payload object");
        }
    }

    /// The full payload of a message: its own bytes, or the stored object its headers name.
    ///
    /// # Errors
    ///
    /// [`BusError::PayloadMissing`] when the object is gone; bus failures otherwise.
    pub(crate) async fn resolve_payload(
        &self,
        subject: &str,
        headers: Option<&HeaderMap>,
        payload: Bytes,
    ) -> Result<Bytes, BusError> {
        let Some((object, size)) = reference(headers) else {
            return Ok(payload);
        };
        // Boxed: the object store's futures are several KiB, and every read and delivery
        // would otherwise carry them although few messages refer to a stored payload.
        Box::pin(self.fetch_payload(subject, object, size)).await
    }

    /// Reads stored payload `object` (`size` bytes long, as its message says).
    async fn fetch_payload(
        &self,
        subject: &str,
        object: String,
        size: usize,
    ) -> Result<Bytes, BusError> {
        let store = self.payload_bucket().await?;
        let mut reader = store
            .get(object.as_str())
            .await
            .map_err(|e| match e.kind() {
                GetErrorKind::NotFound | GetErrorKind::InvalidName => BusError::PayloadMissing {
                    subject: subject.to_owned(),
                    object: object.clone(),
                    bucket: PAYLOADS_BUCKET,
                },
                GetErrorKind::TimedOut => BusError::timeout("get payload", &object),
                _ => BusError::nats("get payload", &object, e),
            })?;
        let mut body = Vec::with_capacity(size.min(self.payloads.max));
        reader
            .read_to_end(&mut body)
            .await
            .map_err(|e| BusError::nats("read payload", &object, e))?;
        Ok(Bytes::from(body))
    }

    /// Opens (or creates) the payload bucket once per connection, with the stream's replicas
    /// and maximum age (a payload lives as long as the message that refers to it).
    async fn payload_bucket(&self) -> Result<ObjectStore, BusError> {
        self.payloads
            .store
            .get_or_try_init(|| async {
                if let Ok(store) = self.js.get_object_store(PAYLOADS_BUCKET).await {
                    return Ok(store);
                }
                let config = object_store::Config {
                    bucket: PAYLOADS_BUCKET.to_owned(),
                    description: Some(
                        "hops payloads too large for one message (results, inputs, events)"
                            .to_owned(),
                    ),
                    num_replicas: self.stream_replicas,
                    max_age: self.stream_max_age.unwrap_or_default(),
                    ..Default::default()
                };
                match self.js.create_object_store(config).await {
                    Ok(store) => Ok(store),
                    Err(create_err) => {
                        self.js
                            .get_object_store(PAYLOADS_BUCKET)
                            .await
                            .map_err(|_| {
                                BusError::nats("open object store", PAYLOADS_BUCKET, create_err)
                            })
                    }
                }
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_from_headers() {
        assert!(reference(None).is_none());
        let mut headers = HeaderMap::new();
        assert!(reference(Some(&headers)).is_none());
        headers.insert(PAYLOAD_OBJECT_HEADER, "run/abc");
        headers.insert(PAYLOAD_SIZE_HEADER, "42");
        assert_eq!(reference(Some(&headers)), Some(("run/abc".to_owned(), 42)));
    }
}
