//! What a Pod's status says about its call: still starting, running, or finished and how.

use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};

use crate::pod::CONTAINER;

/// Where a Pod stands, as far as its call is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodState {
    /// Not running yet: being scheduled, pulling its image, creating its container. The
    /// reason and message are Kubernetes' own when it gave one (`ImagePullBackOff`,
    /// `Unschedulable`, …).
    Starting {
        /// Kubernetes' reason, if any.
        reason: Option<String>,
        /// Kubernetes' message, if any.
        message: Option<String>,
    },
    /// The container runs.
    Running,
    /// The container ended.
    Exited(Exit),
    /// The Pod failed without its container ending on its own (its deadline passed, it was
    /// evicted).
    Failed {
        /// Kubernetes' reason (`DeadlineExceeded`, `Evicted`, …).
        reason: String,
        /// Kubernetes' message.
        message: String,
    },
}

/// How the container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Its exit code.
    pub code: i32,
    /// Kubernetes' reason (`Completed`, `Error`, `OOMKilled`, …).
    pub reason: Option<String>,
    /// The termination message: the result file, or (when that is empty and the container
    /// failed) the end of its log.
    pub message: String,
}

impl From<&ContainerStateTerminated> for Exit {
    fn from(t: &ContainerStateTerminated) -> Self {
        Exit {
            code: t.exit_code,
            reason: t.reason.clone().filter(|r| !r.is_empty()),
            message: t.message.clone().unwrap_or_default(),
        }
    }
}

/// Reads a Pod's status.
pub fn state(pod: &Pod) -> PodState {
    let Some(status) = &pod.status else {
        return PodState::Starting {
            reason: None,
            message: None,
        };
    };
    let main = status
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == CONTAINER);
    let container_state = main.and_then(|c| c.state.as_ref());
    // A Pod Kubernetes failed (its deadline passed, it was evicted) has its container killed:
    // the Pod's reason is the news, not the kill's exit code.
    if status.phase.as_deref() == Some("Failed")
        && let Some(reason) = status.reason.clone().filter(|r| !r.is_empty())
    {
        return PodState::Failed {
            reason,
            message: status.message.clone().unwrap_or_default(),
        };
    }
    if let Some(terminated) = container_state.and_then(|s| s.terminated.as_ref()) {
        return PodState::Exited(Exit::from(terminated));
    }
    match status.phase.as_deref() {
        Some("Failed") => {
            return PodState::Failed {
                reason: status.reason.clone().unwrap_or_else(|| "Failed".to_owned()),
                message: status.message.clone().unwrap_or_default(),
            };
        }
        // Succeeded without a container status is not something a kubelet reports, but a
        // Pod that says it succeeded did.
        Some("Succeeded") => {
            return PodState::Exited(Exit {
                code: 0,
                reason: Some("Completed".to_owned()),
                message: String::new(),
            });
        }
        _ => {}
    }
    if container_state.is_some_and(|s| s.running.is_some()) {
        return PodState::Running;
    }
    if let Some(waiting) = container_state.and_then(|s| s.waiting.as_ref()) {
        return PodState::Starting {
            reason: waiting.reason.clone().filter(|r| !r.is_empty()),
            message: waiting.message.clone().filter(|m| !m.is_empty()),
        };
    }
    let unscheduled = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False");
    if let Some(condition) = unscheduled {
        return PodState::Starting {
            reason: condition.reason.clone(),
            message: condition.message.clone(),
        };
    }
    if status.phase.as_deref() == Some("Running") {
        return PodState::Running;
    }
    PodState::Starting {
        reason: status.reason.clone(),
        message: status.message.clone(),
    }
}

/// `ImagePullBackOff: Back-off pulling image "x"`, or `still being scheduled` when Kubernetes
/// said nothing.
pub fn describe_starting(reason: Option<&str>, message: Option<&str>) -> String {
    match (reason, message) {
        (Some(r), Some(m)) => format!("{r}: {m}"),
        (Some(r), None) => r.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => "Kubernetes gave no reason (still being scheduled or created)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateWaiting, ContainerStatus, PodCondition, PodStatus,
    };

    fn with_status(status: PodStatus) -> Pod {
        Pod {
            status: Some(status),
            ..Pod::default()
        }
    }

    fn main_in(state: ContainerState) -> Vec<ContainerStatus> {
        vec![ContainerStatus {
            name: CONTAINER.into(),
            state: Some(state),
            ..ContainerStatus::default()
        }]
    }

    #[test]
    fn each_phase_reads_as_meant() {
        assert!(matches!(
            state(&Pod::default()),
            PodState::Starting { reason: None, .. }
        ));
        let pulling = with_status(PodStatus {
            phase: Some("Pending".into()),
            container_statuses: Some(main_in(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("ImagePullBackOff".into()),
                    message: Some("Back-off pulling image \"nope\"".into()),
                }),
                ..ContainerState::default()
            })),
            ..PodStatus::default()
        });
        assert_eq!(
            state(&pulling),
            PodState::Starting {
                reason: Some("ImagePullBackOff".into()),
                message: Some("Back-off pulling image \"nope\"".into())
            }
        );
        let unschedulable = with_status(PodStatus {
            phase: Some("Pending".into()),
            conditions: Some(vec![PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("Unschedulable".into()),
                message: Some("0/3 nodes are available".into()),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        });
        assert!(
            matches!(state(&unschedulable), PodState::Starting { reason: Some(r), .. } if r == "Unschedulable")
        );
        let oom = with_status(PodStatus {
            phase: Some("Failed".into()),
            container_statuses: Some(main_in(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 137,
                    reason: Some("OOMKilled".into()),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            })),
            ..PodStatus::default()
        });
        assert_eq!(
            state(&oom),
            PodState::Exited(Exit {
                code: 137,
                reason: Some("OOMKilled".into()),
                message: String::new()
            })
        );
        let deadline = with_status(PodStatus {
            phase: Some("Failed".into()),
            reason: Some("DeadlineExceeded".into()),
            message: Some("Pod was active on the node longer than the specified deadline".into()),
            ..PodStatus::default()
        });
        assert!(
            matches!(state(&deadline), PodState::Failed { reason, .. } if reason == "DeadlineExceeded")
        );
    }
}
