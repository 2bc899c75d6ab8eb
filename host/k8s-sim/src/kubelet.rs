//! The simulated kubelet: moves each new Pod through its phases as its image's script says.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod, PodCondition, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::store::Store;

/// How a pod behaves, chosen by the image of its first container.
#[derive(Debug, Clone, PartialEq)]
pub struct PodScript {
    /// How long it stays `Pending` (creating its container) before it runs.
    pub pending: Duration,
    /// Stays `Pending` for good with this waiting reason and message (`ErrImagePull`,
    /// `ImagePullBackOff`, `CreateContainerConfigError`, …) — or, with reason
    /// `Unschedulable`, never gets scheduled.
    pub stuck: Option<(String, String)>,
    /// How long the container runs.
    pub run: Duration,
    /// Its exit code.
    pub exit_code: i32,
    /// The termination reason (default `Completed`, or `Error` for a non-zero exit), e.g.
    /// `OOMKilled`.
    pub reason: Option<String>,
    /// What it writes to its termination message file.
    pub message: String,
    /// Its log lines.
    pub logs: Vec<String>,
}

impl Default for PodScript {
    fn default() -> Self {
        PodScript {
            pending: Duration::from_millis(50),
            stuck: None,
            run: Duration::from_millis(100),
            exit_code: 0,
            reason: None,
            message: String::new(),
            logs: Vec::new(),
        }
    }
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

fn container_status(pod: &Pod, state: ContainerState, ready: bool) -> Vec<ContainerStatus> {
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .map(|c| ContainerStatus {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            image_id: String::new(),
            ready,
            restart_count: 0,
            state: Some(state.clone()),
            ..ContainerStatus::default()
        })
        .collect()
}

/// A scheduled Pod whose container waits (`ContainerCreating`, `ImagePullBackOff`, …).
fn waiting(pod: &Pod, scheduled: &PodCondition, reason: &str, message: Option<&str>) -> PodStatus {
    PodStatus {
        phase: Some("Pending".into()),
        conditions: Some(vec![scheduled.clone()]),
        container_statuses: Some(container_status(
            pod,
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.to_owned()),
                    message: message.map(str::to_owned),
                }),
                ..ContainerState::default()
            },
            false,
        )),
        ..PodStatus::default()
    }
}

fn set_status(store: &Store, namespace: &str, name: &str, f: impl FnOnce(&Pod) -> PodStatus) {
    store.update_pod(namespace, name, |pod| {
        let status = f(pod);
        pod.status = Some(status);
    });
}

fn active_deadline(store: &Store, namespace: &str, name: &str) -> Option<Duration> {
    let seconds = store.pod(namespace, name)?.spec?.active_deadline_seconds?;
    Some(Duration::from_secs(u64::try_from(seconds).ok()?))
}

/// Starts the kubelet's work on a new pod.
pub(crate) fn start(store: &Arc<Store>, pod: &Pod) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let script = store.script_for(pod);
    let store2 = Arc::clone(store);
    let task = tokio::spawn(async move {
        let store = store2;
        let scheduled = PodCondition {
            type_: "PodScheduled".into(),
            status: "True".into(),
            ..PodCondition::default()
        };
        set_status(&store, &namespace, &name, |pod| {
            waiting(pod, &scheduled, "ContainerCreating", None)
        });
        if let Some((reason, message)) = &script.stuck {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if reason == "Unschedulable" {
                set_status(&store, &namespace, &name, |_| PodStatus {
                    phase: Some("Pending".into()),
                    conditions: Some(vec![PodCondition {
                        type_: "PodScheduled".into(),
                        status: "False".into(),
                        reason: Some(reason.clone()),
                        message: Some(message.clone()),
                        ..PodCondition::default()
                    }]),
                    ..PodStatus::default()
                });
            } else {
                set_status(&store, &namespace, &name, |pod| {
                    waiting(pod, &scheduled, reason, Some(message))
                });
            }
            return;
        }
        tokio::time::sleep(script.pending).await;
        let started = now();
        set_status(&store, &namespace, &name, |pod| PodStatus {
            phase: Some("Running".into()),
            start_time: Some(started.clone()),
            conditions: Some(vec![scheduled.clone()]),
            container_statuses: Some(container_status(
                pod,
                ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(started.clone()),
                    }),
                    ..ContainerState::default()
                },
                true,
            )),
            ..PodStatus::default()
        });
        let deadline = active_deadline(&store, &namespace, &name);
        if let Some(deadline) = deadline.filter(|d| *d < script.pending + script.run) {
            // activeDeadlineSeconds counts from the Pod's start; the kubelet kills it then.
            tokio::time::sleep(deadline.saturating_sub(script.pending)).await;
            set_status(&store, &namespace, &name, |pod| PodStatus {
                phase: Some("Failed".into()),
                reason: Some("DeadlineExceeded".into()),
                message: Some(
                    "Pod was active on the node longer than the specified deadline".into(),
                ),
                start_time: Some(started.clone()),
                container_statuses: Some(container_status(
                    pod,
                    ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            exit_code: 137,
                            reason: Some("Error".into()),
                            ..ContainerStateTerminated::default()
                        }),
                        ..ContainerState::default()
                    },
                    false,
                )),
                ..PodStatus::default()
            });
            return;
        }
        tokio::time::sleep(script.run).await;
        let failed = script.exit_code != 0;
        // terminationMessagePolicy: FallbackToLogsOnError — an empty message of a failed
        // container becomes the end of its log.
        let message = if script.message.is_empty() && failed {
            let tail: Vec<&String> = script.logs.iter().rev().take(80).collect();
            tail.into_iter()
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            script.message.clone()
        };
        let reason = script
            .reason
            .clone()
            .unwrap_or_else(|| if failed { "Error" } else { "Completed" }.into());
        set_status(&store, &namespace, &name, |pod| PodStatus {
            phase: Some(if failed { "Failed" } else { "Succeeded" }.into()),
            start_time: Some(started.clone()),
            conditions: Some(vec![scheduled.clone()]),
            container_statuses: Some(container_status(
                pod,
                ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: script.exit_code,
                        reason: Some(reason),
                        message: (!message.is_empty()).then_some(message),
                        started_at: Some(started.clone()),
                        finished_at: Some(now()),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                },
                false,
            )),
            ..PodStatus::default()
        });
    });
    store.kubelets.lock().unwrap().push(task);
}
