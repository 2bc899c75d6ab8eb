//! A redelivery after an attempt that left no word gives its host one more ack wait before the
//! call runs again.
//!
//! An attempt that ends without a result says why (a retry the app asked for, a hand-back)
//! before its request comes back. One that says nothing had a host that went silent: it died,
//! or it lost NATS for longer than the ack wait — its node failed over, a network blip — and
//! is still running the call, storing the result once it gets through. Running the call again
//! at once would run it twice in the second case, so the delivery first waits (holding the
//! request) for that result, until the stream has answered for a whole ack wait in a row (so a
//! failover, during which nobody can store anything, does not count) and at most a minute. A
//! dead host's call runs again one ack wait later than it could; a host cut off by a failover
//! has its call repeated only if it is still cut off an ack wait after the stream is back.

use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::AppLoop;
use super::call::{Ended, Heartbeat, Request};
use crate::inputs::INPUT_APP;

/// How often the stream is asked for the result while waiting.
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// The longest wait, however long the stream is unavailable.
const GRACE_AT_MOST: Duration = Duration::from_secs(60);

impl AppLoop {
    /// `Some(Stored)` (the request acked) when the host of the previous, silent attempt stores
    /// the result within one ack wait; `None` when the call is to run (a first delivery, an
    /// attempt that said how it ended, or no result in time).
    pub(super) async fn grace_for_a_silent_host(
        &self,
        req: &Request<'_>,
        heartbeat: &Heartbeat<'_>,
    ) -> Option<Ended> {
        let delivered = req.delivery.delivered;
        if delivered < 2 || req.app == INPUT_APP {
            return None;
        }
        let previous = u32::try_from(delivered - 1).unwrap_or(u32::MAX);
        let subject = self
            .bus
            .subjects()
            .attempt(&req.run_id, &req.call, previous)
            .ok()?;
        if let Ok(Some(_)) = self.bus.read_last(&subject).await {
            return None;
        }
        debug!(
            previous,
            "the previous attempt's host went silent; waiting for it to store its result"
        );
        // The silent host can only store its result while the stream takes writes: the wait
        // lasts until the stream has answered for a whole ack wait in a row (a failover
        // stretches it), and never more than a minute.
        let give_up_at = Instant::now() + GRACE_AT_MOST;
        let stored = heartbeat
            .while_waiting(async {
                let mut answering_since = Instant::now();
                loop {
                    tokio::select! {
                        () = self.stop.cancelled() => return false,
                        () = tokio::time::sleep(LOOK_EVERY) => {}
                    }
                    match self.bus.has_message(&req.result_subject).await {
                        Ok(true) => return true,
                        Ok(false) => {}
                        Err(_) => answering_since = Instant::now(),
                    }
                    let now = Instant::now();
                    if now >= give_up_at || now - answering_since >= self.options.ack_wait {
                        return false;
                    }
                }
            })
            .await;
        if !stored {
            return None;
        }
        info!("the host of the previous attempt stored the result after all; not running it again");
        if let Err(err) = req.delivery.ack_unconfirmed().await {
            debug!(error = %err, "ack failed");
        }
        self.release(req).await;
        Some(Ended::Stored)
    }
}
