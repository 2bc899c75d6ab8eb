//! Waiting for a Pod to finish: a watch on its name (which re-lists after a dropped stream or
//! `410 Gone`), a start deadline that fires even when no event comes, and the call's own
//! deadline.

use std::pin::pin;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event, ListSemantic};
use tokio::time::Instant;
use tracing::debug;

use crate::status::{self, Exit, PodState};

/// How long the API may fail every watch attempt before the call gives this attempt up (a
/// later attempt adopts the Pod).
const API_LOST_AFTER: Duration = Duration::from_secs(120);

/// How long after the call's timeout the runner stops waiting on its own.
const DEADLINE_GRACE: Duration = Duration::from_secs(1);

/// How a Pod's wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Its container ended.
    Exited(Exit),
    /// The Pod failed around its container (deadline, eviction).
    Failed {
        /// Kubernetes' reason.
        reason: String,
        /// Kubernetes' message.
        message: String,
    },
    /// The Pod is gone (or going) before its container ended.
    Deleted,
    /// Still not running at the start deadline; Kubernetes' reason and message.
    NotStarted(String),
    /// Still running at the call's deadline.
    TimedOut,
    /// The API could not be watched for a long while.
    ApiLost(String),
}

/// The deadlines of one wait.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// How long the Pod may take to start running.
    pub start: Duration,
    /// How long the whole call may take.
    pub overall: Option<Duration>,
}

/// What one sighting of the Pod means.
enum Sighting {
    End(End),
    Running,
    Starting,
}

fn sighting(pod: &Pod) -> Sighting {
    // A Pod being deleted has its container killed: its exit says nothing about the work.
    let deleting = pod.metadata.deletion_timestamp.is_some();
    match status::state(pod) {
        PodState::Exited(exit) if exit.code == 0 || !deleting => Sighting::End(End::Exited(exit)),
        _ if deleting => Sighting::End(End::Deleted),
        PodState::Exited(exit) => Sighting::End(End::Exited(exit)),
        PodState::Failed { reason, message } => Sighting::End(End::Failed { reason, message }),
        PodState::Running => Sighting::Running,
        PodState::Starting { .. } => Sighting::Starting,
    }
}

/// Waits for the Pod `name` to end.
pub async fn until_done(pods: &Api<Pod>, name: &str, deadlines: Deadlines) -> End {
    let fields = format!("metadata.name={name}");
    // A consistent list: the Pod was created a moment ago and a cached list may lack it.
    let config = watcher::Config::default()
        .fields(&fields)
        .list_semantic(ListSemantic::MostRecent);
    let mut events = pin!(watcher::watcher(pods.clone(), config).default_backoff());
    let began = Instant::now();
    let start_deadline = tokio::time::sleep(deadlines.start);
    let mut start_deadline = pin!(start_deadline);
    // Kubernetes enforces the timeout itself (activeDeadlineSeconds) and says so; this is
    // the backstop for when it does not.
    let overall = deadlines.overall.map(|d| began + d + DEADLINE_GRACE);
    let mut running = false;
    let mut last_starting: Option<Pod> = None;
    let mut listed_it = false;
    let mut failing_since: Option<Instant> = None;
    loop {
        tokio::select! {
            event = events.next() => {
                let pod = match event {
                    Some(Ok(Event::Apply(pod) | Event::InitApply(pod))) => {
                        listed_it = true;
                        pod
                    }
                    Some(Ok(Event::Delete(_))) => return End::Deleted,
                    Some(Ok(Event::Init)) => {
                        listed_it = false;
                        continue;
                    }
                    Some(Ok(Event::InitDone)) => {
                        failing_since = None;
                        // A re-list without the Pod: it was deleted while the watch was down.
                        if !listed_it {
                            return End::Deleted;
                        }
                        continue;
                    }
                    Some(Err(err)) => {
                        let since = *failing_since.get_or_insert_with(Instant::now);
                        debug!(error = %err, "watching the pod failed; the watch starts again");
                        if since.elapsed() >= API_LOST_AFTER {
                            return End::ApiLost(err.to_string());
                        }
                        continue;
                    }
                    None => return End::ApiLost("the watch ended".to_owned()),
                };
                failing_since = None;
                match sighting(&pod) {
                    Sighting::End(end) => return end,
                    Sighting::Running => running = true,
                    Sighting::Starting => last_starting = Some(pod),
                }
            }
            () = &mut start_deadline, if !running => {
                // One last look, so a Pod stuck without further events still ends.
                match last_look(pods, name).await {
                    Ok(Some(pod)) => match sighting(&pod) {
                        Sighting::End(end) => return end,
                        Sighting::Running => running = true,
                        Sighting::Starting => return not_started(&pod),
                    },
                    Ok(None) => return End::Deleted,
                    Err(err) => {
                        let mut why = last_starting.as_ref().map_or_else(
                            || status::describe_starting(None, None),
                            starting_reason,
                        );
                        why.push_str(&format!(" (the API could not be asked again: {err})"));
                        return End::NotStarted(why);
                    }
                }
            }
            () = sleep_until_opt(overall) => {
                return match last_look(pods, name).await {
                    Ok(Some(pod)) => match sighting(&pod) {
                        Sighting::End(end) => end,
                        Sighting::Running | Sighting::Starting => End::TimedOut,
                    },
                    Ok(None) => End::Deleted,
                    Err(_) => End::TimedOut,
                };
            }
        }
    }
}

async fn last_look(pods: &Api<Pod>, name: &str) -> Result<Option<Pod>, kube::Error> {
    pods.get_opt(name).await
}

fn starting_reason(pod: &Pod) -> String {
    match status::state(pod) {
        PodState::Starting { reason, message } => {
            status::describe_starting(reason.as_deref(), message.as_deref())
        }
        _ => status::describe_starting(None, None),
    }
}

fn not_started(pod: &Pod) -> End {
    End::NotStarted(starting_reason(pod))
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
