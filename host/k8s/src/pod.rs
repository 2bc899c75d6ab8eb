//! The Pod (and the ConfigMap of its input files) one `k8s_run` call becomes. Its name is
//! derived from the run and the call, so a redelivered call finds the Pod its first delivery
//! made instead of starting another.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, EnvVar, KeyToPath,
    LocalObjectReference, Pod, PodSecurityContext, PodSpec, ResourceRequirements, SecurityContext,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha2::{Digest, Sha256};

use crate::config::K8sConfig;
use crate::inputs::{Resources, RunInputs};

/// The label every Pod the runner makes carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "hops");
/// Labels naming the run, call, pipeline, app and stream of a Pod.
pub const RUN_LABEL: &str = "hops.dev/run";
/// See [`RUN_LABEL`].
pub const CALL_LABEL: &str = "hops.dev/call";
/// See [`RUN_LABEL`].
pub const PIPELINE_LABEL: &str = "hops.dev/pipeline";
/// See [`RUN_LABEL`].
pub const APP_LABEL: &str = "hops.dev/app";
/// See [`RUN_LABEL`].
pub const STREAM_LABEL: &str = "hops.dev/stream";
/// Set (to `true`) on the Pod of a call with `skip_cleanup`: the runner leaves it be.
pub const SKIP_CLEANUP_LABEL: &str = "hops.dev/skip-cleanup";
/// The full run id and call id (labels are limited to 63 characters).
pub const RUN_ANNOTATION: &str = "hops.dev/run-id";
/// See [`RUN_ANNOTATION`].
pub const CALL_ANNOTATION: &str = "hops.dev/call-id";
/// The container that runs the image.
pub const CONTAINER: &str = "main";
/// Kubernetes' own default termination message path.
pub const TERMINATION_LOG: &str = "/dev/termination-log";

/// The identity of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRef {
    /// The run id.
    pub run_id: String,
    /// The call id (`<pipeline>-<call>`).
    pub call_id: String,
}

impl CallRef {
    /// The pipeline slug: the call id up to its first `-`.
    pub fn pipeline(&self) -> &str {
        self.call_id.split('-').next().unwrap_or_default()
    }
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `hops-<call>-<12 hex of sha256(run/call)>`: a valid DNS-1123 name of at most 63 characters,
/// the same for every delivery of one call.
pub fn pod_name(call: &CallRef) -> String {
    let hash = &digest(&format!("{}/{}", call.run_id, call.call_id))[..12];
    let mut readable = String::new();
    for c in call.call_id.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            readable.push(c);
        } else if !readable.ends_with('-') {
            readable.push('-');
        }
    }
    let room = 63 - "hops-".len() - 1 - hash.len();
    let readable: String = readable.trim_matches('-').chars().take(room).collect();
    let readable = readable.trim_end_matches('-');
    if readable.is_empty() {
        format!("hops-{hash}")
    } else {
        format!("hops-{readable}-{hash}")
    }
}

/// `text` if it is a valid label value, else a digest of it.
pub fn label_value(text: &str) -> String {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && text
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        text.to_owned()
    } else {
        format!("h{}", &digest(text)[..40])
    }
}

/// The labels selecting every Pod this host's runner made on `stream`.
pub fn owned_selector(config: &K8sConfig) -> String {
    format!(
        "{}={},{APP_LABEL}=k8s,{STREAM_LABEL}={}",
        MANAGED_BY.0,
        MANAGED_BY.1,
        label_value(&config.stream)
    )
}

fn labels(
    call: &CallRef,
    config: &K8sConfig,
    extra: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = extra.clone();
    labels.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
    labels.insert(APP_LABEL.into(), "k8s".into());
    labels.insert(STREAM_LABEL.into(), label_value(&config.stream));
    labels.insert(RUN_LABEL.into(), label_value(&call.run_id));
    labels.insert(CALL_LABEL.into(), label_value(&call.call_id));
    labels.insert(PIPELINE_LABEL.into(), label_value(call.pipeline()));
    labels
}

fn metadata(
    call: &CallRef,
    namespace: &str,
    config: &K8sConfig,
    extra: &BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(pod_name(call)),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels(call, config, extra)),
        annotations: Some(BTreeMap::from([
            (RUN_ANNOTATION.to_owned(), call.run_id.clone()),
            (CALL_ANNOTATION.to_owned(), call.call_id.clone()),
        ])),
        ..ObjectMeta::default()
    }
}

fn quantities(r: &Resources) -> Option<BTreeMap<String, Quantity>> {
    let mut out = BTreeMap::new();
    if let Some(cpu) = &r.cpu {
        out.insert("cpu".to_owned(), Quantity(cpu.clone()));
    }
    if let Some(memory) = &r.memory {
        out.insert("memory".to_owned(), Quantity(memory.clone()));
    }
    (!out.is_empty()).then_some(out)
}

/// The Pod of a call.
///
/// # Errors
///
/// When the inputs' labels try to set one of Hops' own.
pub fn pod(
    call: &CallRef,
    namespace: &str,
    inputs: &RunInputs,
    config: &K8sConfig,
) -> Result<Pod, String> {
    if let Some(key) = inputs
        .labels
        .keys()
        .find(|k| k.starts_with("hops.dev/") || k.as_str() == MANAGED_BY.0)
    {
        return Err(format!("labels: `{key}` is set by Hops; pick another key"));
    }
    let result_path = inputs
        .result_file
        .clone()
        .unwrap_or_else(|| TERMINATION_LOG.to_owned());
    let mut env: Vec<EnvVar> = inputs
        .env
        .iter()
        .map(|(name, value)| EnvVar {
            name: name.clone(),
            value: Some(value.clone()),
            ..EnvVar::default()
        })
        .collect();
    let ours = [
        ("HOPS_RUN_ID", call.run_id.clone()),
        ("HOPS_CALL_ID", call.call_id.clone()),
        ("HOPS_INPUT_DIR", inputs.in_dir.clone()),
        ("HOPS_RESULT_PATH", result_path.clone()),
        // The original engine's names, for containers written for it.
        ("HIPHOPS_INPUT_DIR", inputs.in_dir.clone()),
        (
            "HIPHOPS_OUTPUT_DIR",
            result_path
                .rsplit_once('/')
                .map_or("/".to_owned(), |(d, _)| d.to_owned()),
        ),
        (
            "HIPHOPS_RESULT_PATH",
            result_path
                .rsplit_once('/')
                .map_or(result_path.clone(), |(_, f)| f.to_owned()),
        ),
    ];
    for (name, value) in ours {
        if !inputs.env.contains_key(name) {
            env.push(EnvVar {
                name: name.to_owned(),
                value: Some(value),
                ..EnvVar::default()
            });
        }
    }
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    if !inputs.in_files.is_empty() {
        mounts.push(VolumeMount {
            name: "hops-input".into(),
            mount_path: inputs.in_dir.clone(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
        volumes.push(Volume {
            name: "hops-input".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: pod_name(call),
                items: Some(
                    inputs
                        .in_files
                        .keys()
                        .enumerate()
                        .map(|(i, path)| KeyToPath {
                            key: format!("f{i}"),
                            path: path.clone(),
                            mode: None,
                        })
                        .collect(),
                ),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    let container_security = if config.allow_root {
        None
    } else {
        Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                add: None,
            }),
            ..SecurityContext::default()
        })
    };
    let pod_security = (!config.allow_root).then(|| PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(config.run_as_user),
        ..PodSecurityContext::default()
    });
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(inputs.image.clone()),
        command: inputs.command.clone(),
        args: inputs.args.clone(),
        env: Some(env),
        working_dir: inputs.working_dir.clone(),
        resources: Some(ResourceRequirements {
            limits: quantities(&inputs.limits),
            requests: quantities(&inputs.requests),
            ..ResourceRequirements::default()
        }),
        termination_message_path: Some(result_path),
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        security_context: container_security,
        ..Container::default()
    };
    let mut metadata = metadata(call, namespace, config, &inputs.labels);
    if inputs.skip_cleanup
        && let Some(labels) = metadata.labels.as_mut()
    {
        labels.insert(SKIP_CLEANUP_LABEL.to_owned(), "true".to_owned());
    }
    Ok(Pod {
        metadata,
        spec: Some(PodSpec {
            containers: vec![container],
            restart_policy: Some("Never".to_owned()),
            service_account_name: inputs.service_account.clone(),
            // No API credentials inside the container unless it asked for an account.
            automount_service_account_token: inputs.service_account.is_none().then_some(false),
            image_pull_secrets: (!inputs.image_pull_secrets.is_empty()).then(|| {
                inputs
                    .image_pull_secrets
                    .iter()
                    .map(|name| LocalObjectReference { name: name.clone() })
                    .collect()
            }),
            active_deadline_seconds: inputs
                .timeout
                .map(|t| i64::try_from(t.as_secs().max(1)).unwrap_or(i64::MAX)),
            security_context: pod_security,
            volumes: (!volumes.is_empty()).then_some(volumes),
            ..PodSpec::default()
        }),
        status: None,
    })
}

/// The ConfigMap holding a call's input files, owned by its Pod (so Kubernetes deletes it with
/// the Pod).
pub fn input_files(
    call: &CallRef,
    owner: &Pod,
    inputs: &RunInputs,
    config: &K8sConfig,
) -> ConfigMap {
    let namespace = owner.metadata.namespace.clone().unwrap_or_default();
    let mut metadata = metadata(call, &namespace, config, &BTreeMap::new());
    metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".to_owned(),
        kind: "Pod".to_owned(),
        name: owner.metadata.name.clone().unwrap_or_default(),
        uid: owner.metadata.uid.clone().unwrap_or_default(),
        ..OwnerReference::default()
    }]);
    ConfigMap {
        metadata,
        data: Some(
            inputs
                .in_files
                .values()
                .enumerate()
                .map(|(i, content)| (format!("f{i}"), content.clone()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(run: &str, call: &str) -> CallRef {
        CallRef {
            run_id: run.into(),
            call_id: call.into(),
        }
    }

    #[test]
    fn names_are_stable_valid_and_distinct() {
        let a = pod_name(&call("6f1c2a3e-9d4b", "deploy-k8s_run0"));
        assert_eq!(a, pod_name(&call("6f1c2a3e-9d4b", "deploy-k8s_run0")));
        assert_ne!(a, pod_name(&call("6f1c2a3e-9d4c", "deploy-k8s_run0")));
        assert!(a.starts_with("hops-deploy-k8s-run0-"), "{a}");
        let long = pod_name(&call("r", &"x_".repeat(100)));
        assert!(long.len() <= 63, "{long}");
        assert!(
            long.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
        assert_eq!(label_value("deploy-k8s_run0"), "deploy-k8s_run0");
        assert!(label_value(&"r".repeat(100)).len() <= 63);
        assert!(label_value("-bad").starts_with('h'));
    }
}
