//! Flags of the native Kubernetes runner (`call k8s_run`), for `up` and `start`.

use std::path::PathBuf;

use clap::Args;

use super::limits::parse_bytes;

/// Where the cluster is and what pipelines may do there.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Kubernetes runner (call k8s_run)")]
pub struct K8sArgs {
    /// Turn the k8s runner off even when a cluster is found.
    #[arg(long, env = "HOPS_NO_K8S")]
    pub no_k8s: bool,
    /// The kubeconfig to use (default: `KUBECONFIG`, then `~/.kube/config`, then the
    /// in-cluster service account).
    #[arg(long, env = "HOPS_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig other than its current one.
    #[arg(long, env = "HOPS_K8S_CONTEXT", value_name = "NAME")]
    pub k8s_context: Option<String>,
    /// The namespace Pods run in (default: the kubeconfig's, or the service account's).
    #[arg(long, env = "HOPS_K8S_NAMESPACE", value_name = "NAME")]
    pub k8s_namespace: Option<String>,
    /// Further namespaces pipelines may name in `namespace` (comma-separated; `*` for any).
    /// The host's own is always allowed.
    #[arg(
        long = "k8s-allow-namespace",
        env = "HOPS_K8S_ALLOW_NAMESPACES",
        value_delimiter = ',',
        value_name = "NAMES"
    )]
    pub k8s_allow_namespaces: Vec<String>,
    /// Pods this host runs at once; further calls wait their turn.
    #[arg(
        long,
        env = "HOPS_K8S_MAX_PODS",
        default_value_t = 16,
        value_name = "N"
    )]
    pub k8s_max_pods: usize,
    /// Let containers run as root (default: `runAsNonRoot`, all capabilities dropped).
    #[arg(long, env = "HOPS_K8S_ALLOW_ROOT")]
    pub k8s_allow_root: bool,
    /// The user id containers run as when root is not allowed.
    #[arg(
        long,
        env = "HOPS_K8S_RUN_AS_USER",
        default_value_t = 65532,
        value_name = "UID"
    )]
    pub k8s_run_as_user: i64,
    /// How much of the end of a container's log goes into the result's `body`.
    #[arg(long, env = "HOPS_K8S_LOG_TAIL", default_value = "64KiB", value_parser = parse_bytes, value_name = "SIZE")]
    pub k8s_log_tail: u64,
}

impl K8sArgs {
    /// Where to look for the cluster.
    pub fn discovery(&self) -> hops_k8s::Discovery {
        hops_k8s::Discovery {
            kubeconfig: self.kubeconfig.clone(),
            context: self.k8s_context.clone(),
            namespace: self.k8s_namespace.clone(),
        }
    }

    /// The runner's settings, in `namespace`, for the host's `stream`.
    pub fn config(&self, namespace: String, stream: String) -> hops_k8s::K8sConfig {
        hops_k8s::K8sConfig {
            namespace,
            allowed_namespaces: self
                .k8s_allow_namespaces
                .iter()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .collect(),
            max_pods: self.k8s_max_pods.max(1),
            allow_root: self.k8s_allow_root,
            run_as_user: self.k8s_run_as_user,
            log_tail_bytes: usize::try_from(self.k8s_log_tail).unwrap_or(usize::MAX),
            stream,
        }
    }
}
