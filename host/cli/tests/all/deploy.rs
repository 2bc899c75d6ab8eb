//! `deploy/kubernetes` (and its overlays) rendered by `kubectl kustomize`, read document by
//! document into `k8s-openapi` types: probes, security context, the Role the k8s runner needs,
//! settings `hops start` knows, and pipelines that load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Namespace, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use serde::Deserialize as _;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Everything one kustomization renders, by kind.
#[derive(Default)]
struct Rendered {
    namespaces: Vec<Namespace>,
    service_accounts: Vec<ServiceAccount>,
    roles: Vec<Role>,
    bindings: Vec<RoleBinding>,
    config_maps: Vec<ConfigMap>,
    services: Vec<Service>,
    deployments: Vec<Deployment>,
    budgets: Vec<PodDisruptionBudget>,
}

fn render(dir: &str) -> Rendered {
    let output = Command::new("kubectl")
        .args(["kustomize", &repo().join(dir).to_string_lossy()])
        .output()
        .expect("kubectl runs (it comes with the machine image; kustomize is built in)");
    assert!(
        output.status.success(),
        "kubectl kustomize {dir}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut rendered = Rendered::default();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_yaml::Value::deserialize(document).unwrap();
        let kind = value["kind"].as_str().unwrap().to_owned();
        fn push<T: serde::de::DeserializeOwned>(into: &mut Vec<T>, value: serde_yaml::Value) {
            into.push(serde_yaml::from_value(value).unwrap());
        }
        let r = &mut rendered;
        match kind.as_str() {
            "Namespace" => push(&mut r.namespaces, value),
            "ServiceAccount" => push(&mut r.service_accounts, value),
            "Role" => push(&mut r.roles, value),
            "RoleBinding" => push(&mut r.bindings, value),
            "ConfigMap" => push(&mut r.config_maps, value),
            "Service" => push(&mut r.services, value),
            "Deployment" => push(&mut r.deployments, value),
            "PodDisruptionBudget" => push(&mut r.budgets, value),
            other => panic!("{dir} renders a {other} this test does not know"),
        }
    }
    rendered
}

fn only<'a, T>(items: &'a [T], what: &str) -> &'a T {
    assert_eq!(items.len(), 1, "one {what} expected");
    &items[0]
}

fn host_container(deployment: &Deployment) -> &Container {
    let spec = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    spec.containers.iter().find(|c| c.name == "hops").unwrap()
}

fn probe_path(probe: Option<&k8s_openapi::api::core::v1::Probe>) -> (String, String) {
    let get = probe.unwrap().http_get.as_ref().unwrap();
    let port = match &get.port {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(name) => name.clone(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => n.to_string(),
    };
    (get.path.clone().unwrap(), port)
}

/// What every rendering must hold; returns the namespace it is in.
fn check_common(rendered: &Rendered, settings_known: &str) -> String {
    let namespace = only(&rendered.namespaces, "Namespace")
        .metadata
        .name
        .clone()
        .unwrap();
    let deployment = only(&rendered.deployments, "Deployment");
    assert_eq!(deployment.metadata.namespace.as_deref(), Some(&*namespace));
    let pod = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    let container = host_container(deployment);

    // Probes: alive is /health, ready is /ready, on the named API port.
    assert_eq!(
        probe_path(container.liveness_probe.as_ref()),
        ("/health".into(), "http".into())
    );
    assert_eq!(
        probe_path(container.readiness_probe.as_ref()),
        ("/ready".into(), "http".into())
    );
    assert_eq!(
        probe_path(container.startup_probe.as_ref()),
        ("/health".into(), "http".into())
    );
    let port = container.ports.as_ref().unwrap();
    assert!(
        port.iter()
            .any(|p| p.name.as_deref() == Some("http") && p.container_port == 8916)
    );

    // Non-root, read-only, no capabilities, no escalation.
    let pod_security = pod.security_context.as_ref().unwrap();
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert!(pod_security.run_as_user.unwrap() > 0);
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(
        security.capabilities.as_ref().unwrap().drop,
        Some(vec!["ALL".to_owned()])
    );
    let resources = container.resources.as_ref().unwrap();
    assert!(resources.requests.as_ref().unwrap().contains_key("cpu"));
    assert!(resources.requests.as_ref().unwrap().contains_key("memory"));
    assert!(resources.limits.as_ref().unwrap().contains_key("memory"));

    // A read-only root needs writable mounts for the data and temp directories.
    let mounts: BTreeMap<&str, bool> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.mount_path.as_str(), m.read_only.unwrap_or(false)))
        .collect();
    assert_eq!(mounts.get("/data"), Some(&false));
    assert_eq!(mounts.get("/tmp"), Some(&false));
    assert_eq!(mounts.get("/pipelines"), Some(&true));
    assert!(mounts.contains_key("/plugins"));

    // Draining fits in the grace period: HOPS_DRAIN_TIMEOUT + HOPS_READY_GRACE < it.
    let settings = rendered
        .config_maps
        .iter()
        .find(|c| {
            c.metadata
                .name
                .as_deref()
                .unwrap()
                .starts_with("hops-settings-")
        })
        .unwrap();
    let data = settings.data.as_ref().unwrap();
    let secs = |key: &str| {
        let text = &data[key];
        text.strip_suffix('s').unwrap().parse::<i64>().unwrap()
    };
    assert!(
        secs("HOPS_DRAIN_TIMEOUT") + secs("HOPS_READY_GRACE")
            < pod.termination_grace_period_seconds.unwrap()
    );
    // Every setting is one `hops start` reads (a misspelt one would be ignored silently).
    let from_env = container.env.iter().flatten().map(|e| e.name.clone());
    for key in data.keys().cloned().chain(from_env) {
        assert!(
            settings_known.contains(&format!("env: {key}="))
                || settings_known.contains(&format!("env: {key}]")),
            "{key} is not a setting of hops start"
        );
    }
    let envs: BTreeMap<String, _> = container
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e))
        .collect();
    let url = envs["HOPS_NATS_URL"].value_from.as_ref().unwrap();
    let secret = url.secret_key_ref.as_ref().unwrap();
    assert_eq!(
        (secret.name.as_str(), secret.key.as_str()),
        ("hops-nats", "url")
    );
    assert_ne!(secret.optional, Some(true), "the NATS URL is required");
    for optional in ["HOPS_NATS_PASSWORD", "HOPS_NATS_TOKEN", "HOPS_API_TOKEN"] {
        let from = envs[optional].value_from.as_ref().unwrap();
        assert_eq!(
            from.secret_key_ref.as_ref().unwrap().optional,
            Some(true),
            "{optional}"
        );
    }

    // The pipelines ConfigMap holds pipelines that load.
    let pipelines = rendered
        .config_maps
        .iter()
        .find(|c| {
            c.metadata
                .name
                .as_deref()
                .unwrap()
                .starts_with("hops-pipelines-")
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in pipelines.data.as_ref().unwrap() {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let validated = Command::new(env!("CARGO_BIN_EXE_hops"))
        .arg("validate")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stdout)
    );
    let volumes = pod.volumes.as_ref().unwrap();
    let mounted = volumes
        .iter()
        .find(|v| v.name == "pipelines")
        .and_then(|v| v.config_map.as_ref())
        .map(|c| c.name.clone());
    assert_eq!(mounted, pipelines.metadata.name);

    // The runner's Role, bound to the service account the Pods run as.
    let account = only(&rendered.service_accounts, "ServiceAccount");
    assert_eq!(pod.service_account_name, account.metadata.name);
    let role = only(&rendered.roles, "Role");
    assert_eq!(hops_k8s::rbac::granted_by(role), hops_k8s::rbac::needed());
    let binding = only(&rendered.bindings, "RoleBinding");
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(Some(&binding.role_ref.name), role.metadata.name.as_ref());
    let subject = &binding.subjects.as_ref().unwrap()[0];
    assert_eq!(subject.kind, "ServiceAccount");
    assert_eq!(Some(&subject.name), account.metadata.name.as_ref());
    assert_eq!(subject.namespace.as_deref(), Some(&*namespace));
    assert_eq!(role.metadata.namespace.as_deref(), Some(&*namespace));

    // The Service reaches the Deployment's Pods.
    let service = only(&rendered.services, "Service");
    let selector = service.spec.as_ref().unwrap().selector.as_ref().unwrap();
    let labels = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    for (key, value) in selector {
        assert_eq!(labels.get(key), Some(value), "service selector {key}");
    }
    namespace
}

fn start_help() -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hops"))
        .args(["start", "--help"])
        .output()
        .unwrap();
    // Joined back into one line: clap wraps `[env: NAME=]` anywhere.
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn replicas(rendered: &Rendered) -> i32 {
    only(&rendered.deployments, "Deployment")
        .spec
        .as_ref()
        .unwrap()
        .replicas
        .unwrap()
}

#[test]
fn the_base_runs_two_hardened_replicas_with_the_runners_role() {
    let help = start_help();
    let base = render("deploy/kubernetes");
    assert_eq!(check_common(&base, &help), "hops");
    assert_eq!(replicas(&base), 2);
    let budget = only(&base.budgets, "PodDisruptionBudget");
    assert!(budget.spec.as_ref().unwrap().max_unavailable.is_some());
}

#[test]
fn the_dev_overlay_runs_one_replica_in_its_own_namespace() {
    let help = start_help();
    let dev = render("deploy/overlays/dev");
    assert_eq!(check_common(&dev, &help), "hops-dev");
    assert_eq!(replicas(&dev), 1);
    assert!(dev.budgets.is_empty());
}

#[test]
fn the_plugins_image_overlay_fills_the_plugins_volume_first() {
    let help = start_help();
    let rendered = render("deploy/overlays/plugins-image");
    check_common(&rendered, &help);
    let deployment = only(&rendered.deployments, "Deployment");
    let pod = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    let init = &pod.init_containers.as_ref().unwrap()[0];
    assert_eq!(
        init.image.as_deref(),
        Some("registry.example.com/hops-plugins:1")
    );
    let target = &init.volume_mounts.as_ref().unwrap()[0];
    assert_eq!(target.name, "plugins");
    let security = init.security_context.as_ref().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
}
