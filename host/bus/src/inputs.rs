//! Open inputs: calls to the built-in `input` app that wait for a person's answer. Each one is
//! a key in a JetStream key-value bucket, `<acct>.<topic>.<run>.<call slug>`, holding the
//! question; it exists from the moment the call is asked until it is answered or its deadline
//! passes. Waiting therefore holds no delivery, no instance and no memory in any host, and
//! survives every restart; listing the open ones reads only those.

use async_nats::jetstream::kv::{CreateErrorKind, Store};
use async_nats::jetstream::stream;
use bytes::Bytes;
use futures::StreamExt as _;
use tokio::sync::OnceCell;

use crate::connect::Bus;
use crate::error::BusError;
use crate::subjects::validate_run_id;

/// Key-value bucket of open inputs (one per NATS account; keys start with account and topic).
pub const INPUTS_BUCKET: &str = "hops-inputs";

/// The bucket handle, opened once per connection.
#[derive(Debug, Default)]
pub(crate) struct InputStore {
    store: OnceCell<Store>,
}

impl Bus {
    /// Records the open input of call `call` (a slug) of `run_id`. Returns false when it was
    /// already recorded (a redelivery of the same request), leaving the first record.
    ///
    /// # Errors
    ///
    /// [`BusError::Subject`] for an invalid run id or a slug that cannot be a key, or a NATS
    /// failure.
    pub async fn input_open(
        &self,
        run_id: &str,
        call: &str,
        question: Bytes,
    ) -> Result<bool, BusError> {
        let key = self.input_key(run_id, call)?;
        let store = self.input_bucket().await?;
        match store.create(&key, question).await {
            Ok(_) => Ok(true),
            Err(err) if err.kind() == CreateErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(BusError::nats("record input", key, err)),
        }
    }

    /// The question of an open input, if it is open.
    ///
    /// # Errors
    ///
    /// As [`Bus::input_open`].
    pub async fn input_get(&self, run_id: &str, call: &str) -> Result<Option<Bytes>, BusError> {
        let key = self.input_key(run_id, call)?;
        let store = self.input_bucket().await?;
        store
            .get(&key)
            .await
            .map_err(|err| BusError::nats("read input", key, err))
    }

    /// Closes an open input (answered or past its deadline). Closing one that is not open is
    /// not an error.
    ///
    /// # Errors
    ///
    /// As [`Bus::input_open`].
    pub async fn input_close(&self, run_id: &str, call: &str) -> Result<(), BusError> {
        let key = self.input_key(run_id, call)?;
        let store = self.input_bucket().await?;
        store
            .purge(&key)
            .await
            .map_err(|err| BusError::nats("close input", key, err))
    }

    /// Every open input of this account and topic: `(run id, call slug, question)`.
    ///
    /// # Errors
    ///
    /// A NATS failure.
    pub async fn inputs_open(&self) -> Result<Vec<(String, String, Bytes)>, BusError> {
        let store = self.input_bucket().await?;
        let prefix = format!("{}.{}.", self.subjects.account(), self.subjects.topic());
        let mut keys = store
            .keys()
            .await
            .map_err(|err| BusError::nats("list inputs", INPUTS_BUCKET, err))?;
        let mut mine = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|err| BusError::nats("list inputs", INPUTS_BUCKET, err))?;
            if let Some((run, call)) = key.strip_prefix(&prefix).and_then(|k| k.split_once('.')) {
                mine.push((key.clone(), run.to_owned(), call.to_owned()));
            }
        }
        let mut out = Vec::with_capacity(mine.len());
        for (key, run, call) in mine {
            // A key listed a moment ago may have been closed since.
            if let Some(question) = store
                .get(&key)
                .await
                .map_err(|err| BusError::nats("read input", key, err))?
            {
                out.push((run, call, question));
            }
        }
        Ok(out)
    }

    fn input_key(&self, run_id: &str, call: &str) -> Result<String, BusError> {
        validate_run_id(run_id)?;
        let valid = !call.is_empty()
            && call
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'='));
        if !valid {
            return Err(crate::error::SubjectError::InvalidToken {
                what: "call slug of an input",
                value: call.to_owned(),
            }
            .into());
        }
        Ok(format!(
            "{}.{}.{run_id}.{call}",
            self.subjects.account(),
            self.subjects.topic()
        ))
    }

    /// Opens (or creates) the inputs bucket, with the stream's replicas and no age limit (an
    /// input may wait as long as its pipeline says).
    ///
    /// The bucket's stream is created here with the settings a key-value bucket has, rather
    /// than by `create_key_value`, which first asks for the account's info and cannot read
    /// nats-server 2.9's answer.
    async fn input_bucket(&self) -> Result<Store, BusError> {
        self.inputs
            .store
            .get_or_try_init(|| async {
                if let Ok(store) = self.js.get_key_value(INPUTS_BUCKET).await {
                    return Ok(store);
                }
                let config = stream::Config {
                    name: format!("KV_{INPUTS_BUCKET}"),
                    description: Some("hops: calls waiting for a person's answer".to_owned()),
                    subjects: vec![format!("$KV.{INPUTS_BUCKET}.>")],
                    max_messages_per_subject: 1,
                    storage: stream::StorageType::File,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    num_replicas: self.stream_replicas,
                    discard: stream::DiscardPolicy::New,
                    ..Default::default()
                };
                if let Err(create_err) = self.js.create_stream(config).await {
                    // Another host may have created it a moment ago.
                    if self.js.get_key_value(INPUTS_BUCKET).await.is_err() {
                        return Err(BusError::nats(
                            "create key-value bucket",
                            INPUTS_BUCKET,
                            create_err,
                        ));
                    }
                }
                self.js
                    .get_key_value(INPUTS_BUCKET)
                    .await
                    .map_err(|err| BusError::nats("open key-value bucket", INPUTS_BUCKET, err))
            })
            .await
            .cloned()
    }
}
