//! Requests this process is working on, by subject, so a redelivery of one of them (its ack
//! wait passed while a result store was being retried, or the server lost an ack) waits for
//! the first delivery to finish instead of running the call a second time beside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// The requests in flight in this process.
#[derive(Debug, Clone, Default)]
pub(crate) struct InFlight(Arc<Mutex<HashMap<String, watch::Receiver<()>>>>);

/// What [`InFlight::claim`] found.
pub(crate) enum Claim {
    /// This delivery now owns the request until the guard is dropped.
    Mine(ClaimGuard),
    /// Another delivery owns it: wait for this to resolve, then claim again.
    Busy(watch::Receiver<()>),
}

/// Ownership of one request; dropping it releases the request and wakes anyone waiting.
#[derive(Debug)]
pub(crate) struct ClaimGuard {
    owner: InFlight,
    key: String,
    // Dropped with the guard, which ends the waiters' `changed()` with an error.
    _done: watch::Sender<()>,
}

impl InFlight {
    /// Claims `key` for the caller, or says who has it.
    pub(crate) fn claim(&self, key: &str) -> Claim {
        let Ok(mut map) = self.0.lock() else {
            // A poisoned map only loses the de-duplication; the stored-result check remains.
            let (tx, _) = watch::channel(());
            return Claim::Mine(ClaimGuard {
                owner: self.clone(),
                key: key.to_owned(),
                _done: tx,
            });
        };
        if let Some(rx) = map.get(key) {
            return Claim::Busy(rx.clone());
        }
        let (tx, rx) = watch::channel(());
        map.insert(key.to_owned(), rx);
        Claim::Mine(ClaimGuard {
            owner: self.clone(),
            key: key.to_owned(),
            _done: tx,
        })
    }

    /// A way to wait for the owner of `key` to be done, when someone owns it.
    pub(crate) fn watch(&self, key: &str) -> Option<watch::Receiver<()>> {
        self.0.lock().ok()?.get(key).cloned()
    }

    /// How many requests are in flight.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if let Ok(mut map) = self.owner.0.lock() {
            map.remove(&self.key);
        }
    }
}

/// Waits until the owner of a busy claim is done.
pub(crate) async fn released(mut rx: watch::Receiver<()>) {
    // `changed` errs once the sender (the owner's guard) is gone; nothing else is ever sent.
    while rx.changed().await.is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_claim_waits_for_the_first() {
        let inflight = InFlight::default();
        let Claim::Mine(first) = inflight.claim("a") else {
            panic!("the first claim is mine")
        };
        let Claim::Busy(rx) = inflight.claim("a") else {
            panic!("the second claim must wait")
        };
        assert!(matches!(inflight.claim("b"), Claim::Mine(_)));
        let waiter = tokio::spawn(released(rx));
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        waiter.await.unwrap();
        assert_eq!(inflight.len(), 0);
        assert!(matches!(inflight.claim("a"), Claim::Mine(_)));
    }
}
