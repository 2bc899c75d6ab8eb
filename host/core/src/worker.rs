//! The `Worker` trait and the live registry of apps.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::{CallError, CallOutput, CallRequest};

/// Something that handles calls for one app: a WebAssembly component, the native Kubernetes
/// runner, or a test double. The runtime's worker loop owns acking, retries and result
/// publishing; a worker only turns a request into an outcome.
#[async_trait]
pub trait Worker: Send + Sync + 'static {
    /// Handles one call. Must not panic; failures are `Err`.
    async fn handle(&self, call: CallRequest) -> Result<CallOutput, CallError>;

    /// How many calls of this app may run at once in this process.
    fn max_concurrency(&self) -> usize {
        16
    }

    /// A short description for listings (e.g. `wasm 3f2a…`, `native`).
    fn describe(&self) -> String {
        "native".to_owned()
    }

    /// Called once the call's result is stored — by this delivery, or by an earlier one that
    /// a redelivery found — so a worker that holds something outside the host for the call (a
    /// Pod) can let it go. It cannot change the result; failures are the worker's to log.
    async fn result_stored(&self, _run_id: &str, _call_id: &str) {}
}

/// The apps this process serves, by name. Cheap to clone; changes are announced through
/// [`Registry::subscribe`] so worker and listener loops start and stop as apps come and go.
pub struct Registry<T: ?Sized> {
    apps: Arc<RwLock<BTreeMap<String, Arc<T>>>>,
    changed: Arc<watch::Sender<u64>>,
}

/// The workers of this process, by app name.
pub type Workers = Registry<dyn Worker>;

impl<T: ?Sized> Clone for Registry<T> {
    fn clone(&self) -> Self {
        Registry {
            apps: Arc::clone(&self.apps),
            changed: Arc::clone(&self.changed),
        }
    }
}

impl<T: ?Sized> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            apps: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
        }
    }
}

impl<T: ?Sized> Registry<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the entry of `app`. Work already running keeps the old one.
    pub fn insert(&self, app: &str, entry: Arc<T>) {
        if let Ok(mut apps) = self.apps.write() {
            apps.insert(app.to_owned(), entry);
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Removes `app`; returns whether it was there.
    pub fn remove(&self, app: &str) -> bool {
        let removed = self
            .apps
            .write()
            .map(|mut apps| apps.remove(app).is_some())
            .unwrap_or(false);
        if removed {
            self.changed.send_modify(|n| *n += 1);
        }
        removed
    }

    /// The current entry of `app`.
    pub fn get(&self, app: &str) -> Option<Arc<T>> {
        self.apps.read().ok()?.get(app).cloned()
    }

    /// Names of all entries, sorted.
    pub fn names(&self) -> Vec<String> {
        self.apps
            .read()
            .map(|apps| apps.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A receiver that changes whenever an entry is added, replaced or removed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    #[async_trait]
    impl Worker for Echo {
        async fn handle(&self, call: CallRequest) -> Result<CallOutput, CallError> {
            Ok(CallOutput::text(call.inputs))
        }
    }

    #[tokio::test]
    async fn insert_remove_and_notify() {
        let workers = Workers::new();
        let mut rx = workers.subscribe();
        workers.insert("echo", Arc::new(Echo));
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert_eq!(workers.names(), ["echo"]);
        let call = CallRequest {
            run_id: "r".into(),
            call_id: "p-c".into(),
            app: "echo".into(),
            handler: "echo".into(),
            inputs: "{}".into(),
            attempt: 1,
            timeout: None,
            depth: 0,
        };
        let out = workers.get("echo").unwrap().handle(call).await.unwrap();
        assert_eq!(out.body, "{}");
        assert!(workers.remove("echo"));
        assert!(!workers.remove("echo"));
        assert!(rx.has_changed().unwrap());
        assert!(workers.get("echo").is_none());
    }
}
