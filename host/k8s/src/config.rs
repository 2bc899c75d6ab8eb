//! How the runner finds its cluster and what it lets pipelines do there.

use std::path::PathBuf;

use thiserror::Error;

/// The runner's settings, from host flags and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sConfig {
    /// The host's own namespace: where a call without `namespace` runs.
    pub namespace: String,
    /// Further namespaces pipelines may name (the host's own is always allowed).
    pub allowed_namespaces: Vec<String>,
    /// Pods of this host in flight at once; further calls wait for a slot.
    pub max_pods: usize,
    /// Let containers run as root (off: `runAsNonRoot` with [`K8sConfig::run_as_user`]).
    pub allow_root: bool,
    /// The user id non-root containers run as when their image names none.
    pub run_as_user: i64,
    /// How much of the end of a container's log goes into the result's `body`.
    pub log_tail_bytes: usize,
    /// The event stream this host serves; its Pods carry it as a label so two hosts on
    /// different streams never collect each other's Pods.
    pub stream: String,
}

impl Default for K8sConfig {
    fn default() -> Self {
        K8sConfig {
            namespace: "default".to_owned(),
            allowed_namespaces: Vec::new(),
            max_pods: 16,
            allow_root: false,
            run_as_user: 65532,
            log_tail_bytes: 64 * 1024,
            stream: "hops".to_owned(),
        }
    }
}

impl K8sConfig {
    /// Whether a call may run Pods in `namespace`.
    pub fn allows(&self, namespace: &str) -> bool {
        namespace == self.namespace
            || self
                .allowed_namespaces
                .iter()
                .any(|allowed| allowed == namespace || allowed == "*")
    }

    /// Every namespace the runner may have Pods in (for orphan collection); `None` when the
    /// allow-list has `*`.
    pub fn namespaces(&self) -> Option<Vec<String>> {
        if self.allowed_namespaces.iter().any(|n| n == "*") {
            return None;
        }
        let mut all = vec![self.namespace.clone()];
        for n in &self.allowed_namespaces {
            if !all.contains(n) {
                all.push(n.clone());
            }
        }
        Some(all)
    }
}

/// Where the cluster's connection settings come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// `--kubeconfig` / `HOPS_KUBECONFIG`: this file, and no other source.
    pub kubeconfig: Option<PathBuf>,
    /// `--k8s-context`: a context of the kubeconfig other than its current one.
    pub context: Option<String>,
    /// `--k8s-namespace` / `HOPS_K8S_NAMESPACE`: overrides the kubeconfig's (or the service
    /// account's) namespace.
    pub namespace: Option<String>,
}

/// Why the runner cannot reach a cluster.
#[derive(Debug, Error)]
pub enum DiscoveryError {
    /// No kubeconfig and not inside a cluster: the runner stays off.
    #[error(
        "no Kubernetes cluster found (no --kubeconfig/HOPS_KUBECONFIG, no KUBECONFIG or \
         ~/.kube/config, not running in a cluster); the k8s app is off and k8s_run calls \
         wait for a host that serves it"
    )]
    NoCluster,
    /// A kubeconfig was named or found but cannot be used.
    #[error("kubeconfig {path}: {message}")]
    BadKubeconfig {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The client and namespace discovery found.
pub struct Cluster {
    /// A client for the cluster.
    pub client: kube::Client,
    /// The namespace the host runs Pods in by default.
    pub namespace: String,
    /// Where the settings came from, for the start-up line (`kubeconfig /x`, `in-cluster`).
    pub source: String,
}

/// Finds the cluster: the named kubeconfig; else `KUBECONFIG` or `~/.kube/config`; else the
/// in-cluster service account.
///
/// # Errors
///
/// [`DiscoveryError::NoCluster`] when there is none; [`DiscoveryError::BadKubeconfig`] when
/// a kubeconfig exists but is unusable.
pub async fn discover(discovery: &Discovery) -> Result<Cluster, DiscoveryError> {
    let options = kube::config::KubeConfigOptions {
        context: discovery.context.clone(),
        ..kube::config::KubeConfigOptions::default()
    };
    let (config, source) = if let Some(path) = &discovery.kubeconfig {
        let bad = |message: String| DiscoveryError::BadKubeconfig {
            path: path.display().to_string(),
            message,
        };
        let file = kube::config::Kubeconfig::read_from(path).map_err(|e| bad(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(file, &options)
            .await
            .map_err(|e| bad(e.to_string()))?;
        (config, format!("kubeconfig {}", path.display()))
    } else if let Some(path) = default_kubeconfig() {
        let bad = |message: String| DiscoveryError::BadKubeconfig {
            path: path.clone(),
            message,
        };
        let config = kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| bad(e.to_string()))?;
        (config, format!("kubeconfig {path}"))
    } else {
        match kube::Config::incluster() {
            Ok(config) => (config, "in-cluster service account".to_owned()),
            Err(_) => return Err(DiscoveryError::NoCluster),
        }
    };
    let namespace = discovery
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config).map_err(|e| DiscoveryError::BadKubeconfig {
        path: source.clone(),
        message: e.to_string(),
    })?;
    Ok(Cluster {
        client,
        namespace,
        source,
    })
}

/// `KUBECONFIG` (its first file) or `~/.kube/config`, when it exists.
fn default_kubeconfig() -> Option<String> {
    if let Some(paths) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&paths)
            .find(|p| p.exists())
            .map(|p| p.display().to_string());
    }
    let home = std::env::var_os("HOME")?;
    let path = PathBuf::from(home).join(".kube").join("config");
    path.exists().then(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_defaults_to_the_hosts_namespace() {
        let config = K8sConfig {
            namespace: "hops".into(),
            ..K8sConfig::default()
        };
        assert!(config.allows("hops"));
        assert!(!config.allows("kube-system"));
        assert_eq!(config.namespaces(), Some(vec!["hops".to_owned()]));
        let open = K8sConfig {
            allowed_namespaces: vec!["*".into()],
            ..config
        };
        assert!(open.allows("anything"));
        assert_eq!(open.namespaces(), None);
    }
}
