//! Deadlines of open inputs. Every host that serves the `input` app watches them all: it reads
//! the open inputs, ends those past their deadline (publish-once makes a race between hosts, or
//! with a late answer, leave one result), and sleeps until the next deadline — at most
//! [`RESCAN`], so an input opened by another host is seen in time, and less when one is opened
//! here. A deadline that passed while no host ran ends on the first scan after one starts.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{AnswerError, Inputs};

/// Longest sleep between two scans.
const RESCAN: Duration = Duration::from_secs(10);

/// Ends inputs as their deadlines pass, until `stop`.
pub(crate) async fn watch_deadlines(inputs: Arc<Inputs>, stop: CancellationToken) {
    loop {
        let next = match inputs.list().await {
            Ok(open) => {
                let now = Utc::now();
                let mut next = RESCAN;
                for input in &open {
                    let Some(at) = input.deadline_at else {
                        continue;
                    };
                    if at <= now {
                        match inputs.expire(input).await {
                            Ok(_) => {
                                info!(run_id = %input.run_id, call = %input.call, "input past its deadline: the call ends errored")
                            }
                            Err(AnswerError::Closed { .. }) => {}
                            Err(err) => {
                                warn!(run_id = %input.run_id, call = %input.call, error = %err, "could not end an input past its deadline; retrying")
                            }
                        }
                    } else if let Ok(left) = (at - now).to_std() {
                        next = next.min(left);
                    }
                }
                next
            }
            Err(err) => {
                debug!(error = %err, "could not read the open inputs; retrying");
                Duration::from_secs(2)
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(next) => {}
            () = inputs.opened.notified() => {}
        }
    }
}
