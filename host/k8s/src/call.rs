//! One `k8s_run` call: make (or adopt) its Pod, wait for it, and turn how it ended into the
//! call's outcome.

use std::time::Duration;

use hops_core::{CallError, CallOutput, CallRequest};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::Api;
use kube::api::PostParams;
use serde_json::Value;
use tracing::{debug, info};

use crate::config::K8sConfig;
use crate::inputs::{self, RunInputs};
use crate::logs;
use crate::pod::{self, CALL_ANNOTATION, CallRef, RUN_ANNOTATION};
use crate::status::Exit;
use crate::wait::{self, Deadlines, End};

/// Kubernetes keeps at most this much of a termination message.
const TERMINATION_MESSAGE_MAX: usize = 4096;
/// How much of the log an errored result quotes (the whole tail is for `body`).
const ERROR_LOG_MAX: usize = 8 * 1024;
/// Pause before the next attempt when the API could not be reached.
const API_RETRY: Duration = Duration::from_secs(15);

/// The Pod a call runs in, once made or adopted.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Whether it stays after the call.
    pub skip_cleanup: bool,
}

/// Reads the call's inputs and decides its namespace; errors are the call's errored result.
pub(crate) fn plan(
    request: &CallRequest,
    config: &K8sConfig,
) -> Result<(RunInputs, String), CallError> {
    if request.handler != "run" {
        return Err(CallError::Reject(format!(
            "app k8s has one handler, `run`: call it as `call k8s_run`, not `k8s_{}`",
            request.handler
        )));
    }
    let mut inputs = inputs::parse(&request.inputs_json())
        .map_err(|e| CallError::Reject(format!("k8s_run: {e}")))?;
    // The pipeline's call timeout bounds the Pod as well.
    inputs.timeout = match (inputs.timeout, request.timeout) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let namespace = inputs
        .namespace
        .clone()
        .unwrap_or_else(|| config.namespace.clone());
    if !is_dns_label(&namespace) {
        return Err(CallError::Reject(format!(
            "k8s_run: input `namespace` {namespace:?} is not a Kubernetes namespace name (lower-case letters, digits and `-`, at most 63)"
        )));
    }
    if !config.allows(&namespace) {
        let mut allowed = vec![config.namespace.clone()];
        allowed.extend(config.allowed_namespaces.iter().cloned());
        return Err(CallError::Reject(format!(
            "k8s_run: namespace `{namespace}` is not one this host may use (it may use {}); \
             add it with --k8s-allow-namespace {namespace} (HOPS_K8S_ALLOW_NAMESPACES)",
            allowed.join(", ")
        )));
    }
    Ok((inputs, namespace))
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// What an API error means for the call: refusals end it, anything else is tried again later.
fn api_failure(doing: &str, err: &kube::Error) -> CallError {
    match err {
        kube::Error::Api(status) if status.code == 403 => CallError::Reject(format!(
            "Kubernetes refused to let the host {doing}: {} (grant the host's service account the Role in deploy/kubernetes/rbac.yaml)",
            status.message
        )),
        kube::Error::Api(status) if (400..500).contains(&status.code) && status.code != 429 => {
            CallError::Reject(format!(
                "Kubernetes refused to {doing}: {} ({})",
                status.message, status.reason
            ))
        }
        other => CallError::Retry {
            message: format!("could not {doing}: {other}"),
            backoff: Some(API_RETRY),
        },
    }
}

/// Creates the call's Pod, or adopts the one an earlier delivery made (`409 AlreadyExists`).
pub(crate) async fn place(
    client: &kube::Client,
    config: &K8sConfig,
    call: &CallRef,
    namespace: &str,
    inputs: &RunInputs,
) -> Result<(Api<Pod>, Placed), CallError> {
    let spec = pod::pod(call, namespace, inputs, config)
        .map_err(|e| CallError::Reject(format!("k8s_run: {e}")))?;
    let name = pod::pod_name(call);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let created = match pods.create(&PostParams::default(), &spec).await {
        Ok(created) => {
            info!(pod = %name, namespace, image = %inputs.image, "pod created");
            created
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let existing = pods
                .get(&name)
                .await
                .map_err(|e| api_failure(&format!("read pod {name}"), &e))?;
            let annotations = existing.metadata.annotations.clone().unwrap_or_default();
            let ours = annotations.get(RUN_ANNOTATION) == Some(&call.run_id)
                && annotations.get(CALL_ANNOTATION) == Some(&call.call_id);
            if !ours {
                return Err(CallError::Reject(format!(
                    "a pod named {name} already exists in {namespace} and was not made for this call; Hops leaves it alone"
                )));
            }
            info!(pod = %name, namespace, "pod from an earlier attempt adopted");
            existing
        }
        Err(err) => return Err(api_failure(&format!("create pod {name}"), &err)),
    };
    if !inputs.in_files.is_empty() {
        let files = pod::input_files(call, &created, inputs, config);
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
        match configmaps.create(&PostParams::default(), &files).await {
            Ok(_) => debug!(configmap = %name, "input files stored"),
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(err) => return Err(api_failure(&format!("create configmap {name}"), &err)),
        }
    }
    Ok((
        pods,
        Placed {
            namespace: namespace.to_owned(),
            name,
            skip_cleanup: inputs.skip_cleanup,
        },
    ))
}

/// Waits for the Pod and makes the call's outcome of how it ended.
pub(crate) async fn finish(
    pods: &Api<Pod>,
    placed: &Placed,
    inputs: &RunInputs,
    config: &K8sConfig,
) -> Result<CallOutput, CallError> {
    let deadlines = Deadlines {
        start: inputs.start_timeout,
        overall: inputs.timeout,
    };
    let name = &placed.name;
    match wait::until_done(pods, name, deadlines).await {
        End::Exited(exit) if exit.code == 0 => {
            Ok(completed(pods, name, exit, inputs, config).await)
        }
        End::Exited(exit) => Err(CallError::Reject(exited(pods, name, &exit, inputs).await)),
        End::Failed { reason, message } if reason == "DeadlineExceeded" => {
            Err(CallError::Reject(format!(
                "pod {name} ran past its timeout{}: Kubernetes stopped it ({message})",
                inputs
                    .timeout
                    .map(|t| format!(" of {}", humantime::format_duration(t)))
                    .unwrap_or_default()
            )))
        }
        End::Failed { reason, message } => Err(CallError::Reject(format!(
            "pod {name} failed: {reason}{}",
            if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            }
        ))),
        End::Deleted => Err(CallError::Reject(format!(
            "pod {name} in {} was deleted before its container finished (not by Hops)",
            placed.namespace
        ))),
        End::NotStarted(why) => Err(CallError::Reject(format!(
            "pod {name} did not start within its start_timeout of {}: {why}",
            humantime::format_duration(inputs.start_timeout)
        ))),
        End::TimedOut => Err(CallError::Reject(format!(
            "pod {name} did not finish within its timeout of {}",
            inputs
                .timeout
                .map(|t| humantime::format_duration(t).to_string())
                .unwrap_or_default()
        ))),
        End::ApiLost(why) => Err(CallError::Retry {
            message: format!("lost contact with the Kubernetes API while pod {name} ran: {why}"),
            backoff: Some(API_RETRY),
        }),
    }
}

/// The result of a container that exited 0: its termination message (JSON when it parses)
/// and the tail of its log.
async fn completed(
    pods: &Api<Pod>,
    name: &str,
    exit: Exit,
    inputs: &RunInputs,
    config: &K8sConfig,
) -> CallOutput {
    let mut output = CallOutput::default();
    let message = exit.message;
    if message.len() >= TERMINATION_MESSAGE_MAX {
        output.notes.push(format!(
            "the result is {} bytes, Kubernetes' limit for a termination message: it may have been cut; a container with more to return writes it to its log",
            message.len()
        ));
    }
    let trimmed = message.trim();
    // The original engine's `out_path` without `.json` was text in `body`.
    let text_file = inputs
        .result_file
        .as_deref()
        .is_some_and(|f| !f.to_ascii_lowercase().ends_with(".json"));
    if text_file {
        output.body = message.clone();
        return output;
    }
    if !trimmed.is_empty() {
        output.json = Some(
            serde_json::from_str::<Value>(trimmed)
                .unwrap_or_else(|_| Value::String(message.trim_end_matches('\n').to_owned())),
        );
    }
    match logs::tail(pods, name, config.log_tail_bytes).await {
        Ok((text, cut)) => {
            if cut {
                output.notes.push(format!(
                    "body holds the last {} of the log",
                    bytes(config.log_tail_bytes)
                ));
            }
            output.body = text;
        }
        Err(err) => output
            .notes
            .push(format!("the container's log could not be read: {err}")),
    }
    output
}

/// The error of a container that exited non-zero: code, reason, and the end of its log.
async fn exited(pods: &Api<Pod>, name: &str, exit: &Exit, inputs: &RunInputs) -> String {
    let reason = exit.reason.as_deref().unwrap_or("Error");
    let mut text = if reason == "OOMKilled" {
        format!(
            "the container of pod {name} was killed for using more memory than its limit{} (OOMKilled, exit code {}); raise `memory`",
            inputs
                .limits
                .memory
                .as_deref()
                .map(|m| format!(" of {m}"))
                .unwrap_or_default(),
            exit.code
        )
    } else {
        format!(
            "the container of pod {name} exited with code {} ({reason})",
            exit.code
        )
    };
    let log = logs::tail(pods, name, ERROR_LOG_MAX)
        .await
        .ok()
        .map(|(t, _)| t);
    let message = exit.message.trim_end();
    // With FallbackToLogsOnError an empty result file makes the message the log's end.
    let message_is_log = log
        .as_deref()
        .is_some_and(|l| !message.is_empty() && l.trim_end().ends_with(message));
    if !message.is_empty() && !message_is_log {
        text.push_str(&format!("\nmessage: {message}"));
    }
    match log.as_deref().map(str::trim_end) {
        Some(log) if !log.is_empty() => {
            text.push_str("\nlast lines of its log:\n");
            text.push_str(log);
        }
        Some(_) => text.push_str("\n(its log is empty)"),
        None if !message.is_empty() && message_is_log => {}
        None => text.push_str("\n(its log could not be read)"),
    }
    text
}

fn bytes(n: usize) -> String {
    if n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(handler: &str, inputs: &str) -> CallRequest {
        CallRequest {
            run_id: "r1".into(),
            call_id: "p-k8s_run".into(),
            app: "k8s".into(),
            handler: handler.into(),
            inputs: inputs.into(),
            attempt: 1,
            timeout: Some(Duration::from_secs(30)),
            depth: 0,
        }
    }

    #[test]
    fn plans_check_handler_namespace_and_timeout() {
        let config = K8sConfig {
            namespace: "ci".into(),
            allowed_namespaces: vec!["builds".into()],
            ..K8sConfig::default()
        };
        let (inputs, ns) =
            plan(&request("run", r#"{"image":"a","timeout":"1h"}"#), &config).unwrap();
        assert_eq!(ns, "ci");
        assert_eq!(
            inputs.timeout,
            Some(Duration::from_secs(30)),
            "the call's timeout is shorter"
        );
        let (_, ns) = plan(
            &request("run", r#"{"image":"a","namespace":"builds"}"#),
            &config,
        )
        .unwrap();
        assert_eq!(ns, "builds");
        for (handler, inputs, expected) in [
            ("start", r#"{"image":"a"}"#, "one handler, `run`"),
            (
                "run",
                r#"{"image":"a","namespace":"kube-system"}"#,
                "namespace `kube-system` is not one this host may use (it may use ci, builds)",
            ),
            (
                "run",
                r#"{"image":"a","namespace":"Bad_NS"}"#,
                "not a Kubernetes namespace name",
            ),
            ("run", r#"{"imgae":"a"}"#, "unknown input `imgae`"),
        ] {
            let err = plan(&request(handler, inputs), &config).unwrap_err();
            assert!(matches!(err, CallError::Reject(_)), "{err:?}");
            assert!(err.message().contains(expected), "{}", err.message());
        }
    }
}
