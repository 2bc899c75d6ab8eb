//! Stream bootstrap and check: the stream must allow exactly one message per subject.

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind};
use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType};
use tracing::Instrument;

use crate::connect::Bus;
use crate::error::BusError;
use crate::subjects::Subjects;

/// What [`Bus::ensure_stream`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    /// The stream did not exist and was created.
    Created,
    /// The stream existed and its configuration is compatible.
    Existing,
}

impl Bus {
    /// Creates the stream if it is missing, or checks an existing one.
    ///
    /// A created stream has subjects `<acct>.>`, file storage, `max_messages_per_subject = 1`,
    /// `discard = new`, `discard_new_per_subject = true` (so a second publish on a subject is
    /// rejected: exactly-once dispatch without a time window) and no maximum age unless
    /// [`crate::BusConfig::stream_max_age`] is set.
    ///
    /// # Errors
    ///
    /// [`BusError::IncompatibleStream`] naming the setting and the fix when an existing stream
    /// would accept duplicates; [`BusError::JetStreamUnavailable`] when JetStream is off.
    pub async fn ensure_stream(&self) -> Result<StreamStatus, BusError> {
        let span = tracing::info_span!("hops.bus.ensure_stream", stream = %self.stream);
        async move {
            match self.js.get_stream(&*self.stream).await {
                Ok(stream) => {
                    let config = stream.cached_info().config.clone();
                    self.use_stream(&config)?;
                    self.apply_limits(config).await?;
                    Ok(StreamStatus::Existing)
                }
                Err(err) if is_stream_not_found(err.kind()) => self.create_stream().await,
                Err(err) => Err(self.stream_request_error("get stream", err)),
            }
        }
        .instrument(span)
        .await
    }

    /// Sets the configured maximum age on an existing stream whose age limit differs (left as
    /// it is when none is configured).
    ///
    /// There is no size limit to set: nats-server 2.9 was seen dropping a stream's oldest
    /// messages at its byte limit under load despite `discard = new`, which would free the
    /// subjects of runs still going; purging ended runs bounds the stream instead.
    async fn apply_limits(&self, mut config: Config) -> Result<(), BusError> {
        let Some(age) = self.stream_max_age else {
            return Ok(());
        };
        if config.max_age == age {
            return Ok(());
        }
        config.max_age = age;
        self.js
            .update_stream(&config)
            .await
            .map_err(|e| BusError::nats("update the stream's limits", &*self.stream, e))?;
        tracing::info!(stream = %self.stream, max_age = ?config.max_age, "stream age limit updated");
        Ok(())
    }

    async fn create_stream(&self) -> Result<StreamStatus, BusError> {
        let config = stream_config(
            &self.stream,
            &self.subjects,
            self.stream_max_age,
            self.stream_replicas,
        );
        match self.js.create_stream(config).await {
            Ok(stream) => {
                // A server that silently ignores a setting (older than 2.9) fails this check.
                self.use_stream(&stream.cached_info().config)?;
                tracing::info!(stream = %self.stream, "created stream");
                Ok(StreamStatus::Created)
            }
            Err(err) => match err.kind() {
                // Another replica created it first: check theirs.
                CreateStreamErrorKind::JetStream(e)
                    if e.error_code() == ErrorCode::STREAM_NAME_EXIST =>
                {
                    let stream = self
                        .js
                        .get_stream(&*self.stream)
                        .await
                        .map_err(|e| self.stream_request_error("get stream", e))?;
                    self.use_stream(&stream.cached_info().config)?;
                    Ok(StreamStatus::Existing)
                }
                CreateStreamErrorKind::TimedOut => {
                    Err(BusError::timeout("create stream", &*self.stream))
                }
                CreateStreamErrorKind::JetStreamUnavailable => Err(BusError::JetStreamUnavailable),
                CreateStreamErrorKind::JetStream(e)
                    if self.stream_replicas > 1
                        && (e.error_code() == ErrorCode::STREAM_REPLICAS_NOT_SUPPORTED
                            || e.error_code() == ErrorCode::INSUFFICIENT_RESOURCES) =>
                {
                    Err(BusError::StreamReplicas {
                        stream: self.stream.to_string(),
                        replicas: self.stream_replicas,
                        reason: e.to_string(),
                    })
                }
                _ => Err(BusError::nats("create stream", &*self.stream, err)),
            },
        }
    }

    /// Checks the stream and picks how to read single messages from it.
    fn use_stream(&self, config: &Config) -> Result<(), BusError> {
        check_stream_config(config, &self.subjects)?;
        self.direct_reads
            .store(config.allow_direct, std::sync::atomic::Ordering::Relaxed);
        self.replicated.store(
            config.num_replicas > 1,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    }

    fn stream_request_error(
        &self,
        op: &'static str,
        err: async_nats::jetstream::context::GetStreamError,
    ) -> BusError {
        use async_nats::jetstream::context::RequestErrorKind;
        use std::error::Error as _;
        let request_kind = err
            .source()
            .and_then(|s| s.downcast_ref::<async_nats::jetstream::context::RequestError>())
            .map(|r| r.kind());
        match request_kind {
            Some(RequestErrorKind::TimedOut) => BusError::timeout(op, &*self.stream),
            Some(RequestErrorKind::NoResponders) => BusError::JetStreamUnavailable,
            _ => BusError::nats(op, &*self.stream, err),
        }
    }
}

fn is_stream_not_found(kind: GetStreamErrorKind) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

/// The configuration of a stream Hops creates.
pub fn stream_config(
    name: &str,
    subjects: &Subjects,
    max_age: Option<std::time::Duration>,
    replicas: usize,
) -> Config {
    Config {
        name: name.to_owned(),
        description: Some("hops runs: one message per subject (exactly-once dispatch)".to_owned()),
        subjects: vec![subjects.account_filter()],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        max_messages_per_subject: 1,
        discard: DiscardPolicy::New,
        discard_new_per_subject: true,
        max_age: max_age.unwrap_or_default(),
        allow_direct: true,
        num_replicas: replicas.max(1),
        ..Default::default()
    }
}

/// Checks that a stream configuration keeps exactly-once dispatch: one message per subject,
/// later publishes rejected (not replacing the first), limits retention (acked messages are not
/// removed, so their subjects stay taken), writable, and capturing `<acct>.>`.
pub fn check_stream_config(config: &Config, subjects: &Subjects) -> Result<(), BusError> {
    let bad = |setting, actual: String, expected: &str| {
        Err(BusError::IncompatibleStream {
            stream: config.name.clone(),
            setting,
            actual,
            expected: expected.to_owned(),
        })
    };
    if config.max_messages_per_subject != 1 {
        return bad(
            "max_messages_per_subject",
            config.max_messages_per_subject.to_string(),
            "1",
        );
    }
    if config.discard != DiscardPolicy::New {
        return bad("discard", "old".to_owned(), "new");
    }
    if !config.discard_new_per_subject {
        return bad("discard_new_per_subject", "false".to_owned(), "true");
    }
    if config.retention != RetentionPolicy::Limits {
        let actual = match config.retention {
            RetentionPolicy::Interest => "interest",
            RetentionPolicy::WorkQueue => "workqueue",
            RetentionPolicy::Limits => "limits",
        };
        return bad("retention", actual.to_owned(), "limits");
    }
    if config.sealed {
        return bad("sealed", "true".to_owned(), "false");
    }
    if config.mirror.is_some() {
        return bad(
            "mirror",
            "set".to_owned(),
            "none (a mirror accepts no publishes)",
        );
    }
    let wanted = subjects.account_filter();
    if !config.subjects.iter().any(|s| covers(s, &wanted)) {
        return bad(
            "subjects",
            format!("{:?}", config.subjects),
            &format!("a subject covering {wanted}"),
        );
    }
    if !config.max_age.is_zero() {
        tracing::warn!(
            stream = %config.name,
            max_age = ?config.max_age,
            "stream has a maximum age: runs older than that lose their exactly-once guarantee"
        );
    }
    Ok(())
}

/// True when every subject matching `pattern` also matches `filter` (both may use wildcards).
pub(crate) fn covers(filter: &str, pattern: &str) -> bool {
    let mut f = filter.split('.');
    let mut p = pattern.split('.');
    loop {
        match (f.next(), p.next()) {
            (Some(">"), Some(_)) => return true,
            (Some(_), Some(">")) => return false,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects() -> Subjects {
        Subjects::new("hops", "default").unwrap()
    }

    #[test]
    fn created_config_passes_the_check() {
        let c = stream_config("HOPS", &subjects(), None, 1);
        check_stream_config(&c, &subjects()).unwrap();
    }

    #[test]
    fn each_broken_setting_is_named() {
        let base = stream_config("HOPS", &subjects(), None, 1);
        type Mutation = Box<dyn Fn(&mut Config)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "max_messages_per_subject = 10",
                Box::new(|c| c.max_messages_per_subject = 10),
            ),
            (
                "max_messages_per_subject = -1",
                Box::new(|c| c.max_messages_per_subject = -1),
            ),
            (
                "discard = old",
                Box::new(|c| c.discard = DiscardPolicy::Old),
            ),
            (
                "discard_new_per_subject = false",
                Box::new(|c| c.discard_new_per_subject = false),
            ),
            (
                "retention = workqueue",
                Box::new(|c| c.retention = RetentionPolicy::WorkQueue),
            ),
            ("sealed = true", Box::new(|c| c.sealed = true)),
            (
                "subjects = [\"hops.default.>\"]",
                Box::new(|c| c.subjects = vec!["hops.default.>".into()]),
            ),
        ];
        for (needle, mutate) in cases {
            let mut c = base.clone();
            mutate(&mut c);
            let err = check_stream_config(&c, &subjects()).unwrap_err();
            assert!(matches!(err, BusError::IncompatibleStream { .. }));
            let msg = err.to_string();
            assert!(msg.starts_with("stream HOPS has "), "{msg}");
            assert!(msg.contains(needle), "{msg} lacks {needle}");
            assert!(msg.contains("point hops at another account"), "{msg}");
        }
    }

    #[test]
    fn broader_subjects_are_accepted() {
        for subjects_list in [vec![">"], vec!["other.>", "*.>"], vec!["hops.>"]] {
            let mut c = stream_config("HOPS", &subjects(), None, 1);
            c.subjects = subjects_list.iter().map(|s| s.to_string()).collect();
            check_stream_config(&c, &subjects()).unwrap();
        }
    }

    #[test]
    fn subject_cover_rules() {
        assert!(covers(">", "a.>"));
        assert!(covers("a.>", "a.>"));
        assert!(covers("*.>", "a.>"));
        assert!(covers("a.*", "a.b"));
        assert!(covers("a.b", "a.b"));
        assert!(!covers("a.*", "a.>"));
        assert!(!covers("a.b.>", "a.>"));
        assert!(!covers("a", "a.>"));
        assert!(!covers("b.>", "a.>"));
        assert!(!covers("a.>", "a"));
    }
}
