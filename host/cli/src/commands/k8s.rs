//! Starting the native Kubernetes runner in a host: find the cluster, collect the Pods a
//! crash left behind, and register app `k8s` next to the wasm apps.

use std::sync::Arc;

use async_trait::async_trait;
use hops_bus::Bus;
use hops_core::Workers;
use hops_k8s::{DiscoveryError, K8sWorker, StoredResults};
use serde_json::{Value, json};

use crate::cli::k8s::K8sArgs;
use crate::output;

/// What became of the runner, for `hops plugins list`.
#[derive(Debug, Clone)]
pub struct K8sState {
    listing: Value,
}

impl K8sState {
    fn new(state: &str, message: Option<String>, namespace: Option<&str>, grants: String) -> Self {
        let mut status = json!({"state": state});
        if let Some(message) = message {
            status["message"] = Value::String(message);
        }
        K8sState {
            listing: json!({
                "name": hops_k8s::APP,
                "kind": "native",
                "world": "worker",
                "version": "native",
                "handlers": hops_k8s::HANDLERS,
                "status": status,
                "serving": state == "ready",
                "namespace": namespace,
                "grants": grants,
            }),
        }
    }

    /// The runner's entry in the app listing.
    pub fn listing(&self) -> Value {
        self.listing.clone()
    }
}

/// Reads results from the bus, for orphan collection.
struct BusResults(Arc<Bus>);

#[async_trait]
impl StoredResults for BusResults {
    async fn is_stored(&self, run_id: &str, call_id: &str) -> anyhow::Result<bool> {
        let subject = self.0.subjects().result(run_id, call_id)?;
        Ok(self.0.has_message(&subject).await?)
    }
}

/// Starts the runner when a cluster is found and registers it in `workers`; otherwise says
/// once why it is off and leaves `k8s_run` calls waiting for a host that serves it.
///
/// # Errors
///
/// When the kubeconfig named with `--kubeconfig` cannot be used: a misconfigured cluster
/// the host was told to use is a mistake to fix, not a reason to run without it.
pub async fn start(args: &K8sArgs, bus: &Arc<Bus>, workers: &Workers) -> anyhow::Result<K8sState> {
    if args.no_k8s {
        eprintln!("  app k8s: off (--no-k8s)");
        return Ok(K8sState::new(
            "off",
            Some("turned off with --no-k8s".into()),
            None,
            "-".into(),
        ));
    }
    let cluster = match hops_k8s::discover(&args.discovery()).await {
        Ok(cluster) => cluster,
        Err(DiscoveryError::NoCluster) => {
            let why = DiscoveryError::NoCluster.to_string();
            eprintln!("  app k8s: off: {why}");
            return Ok(K8sState::new("off", Some(why), None, "-".into()));
        }
        // A kubeconfig found by default may belong to anything; one named on purpose must work.
        Err(err) if args.kubeconfig.is_none() => {
            let why = format!(
                "{err} (name a working one with --kubeconfig, or turn the runner off with --no-k8s)"
            );
            eprintln!("{} app k8s: off: {why}", output::warning_label());
            return Ok(K8sState::new("off", Some(why), None, "-".into()));
        }
        Err(err) => {
            return Err(anyhow::anyhow!(
                "{err}\n  (fix it, point --kubeconfig at another file, or turn the runner off with --no-k8s)"
            ));
        }
    };
    let stream = format!("{}.{}", bus.subjects().account(), bus.subjects().topic());
    let config = args.config(cluster.namespace.clone(), stream);
    let mut allowed = vec![config.namespace.clone()];
    allowed.extend(config.allowed_namespaces.iter().cloned());
    let grants = format!("namespaces: {}", allowed.join(", "));
    let worker = K8sWorker::new(cluster.client, config);
    let namespace = worker.config().namespace.clone();
    // Pods of calls that finished while no host was there to delete them. A cluster that
    // cannot be listed now is not fatal: calls will say what is wrong.
    match worker.collect_orphans(&BusResults(Arc::clone(bus))).await {
        Ok(0) => {}
        Ok(n) => eprintln!("  app k8s: deleted {n} pods of calls that had finished"),
        Err(err) => eprintln!(
            "{} app k8s: could not list its pods in {namespace}: {err:#}",
            output::warning_label()
        ),
    }
    eprintln!(
        "  app k8s (native) ready: namespace {namespace}, {} (at most {} pods at once)",
        cluster.source,
        worker.config().max_pods
    );
    workers.insert(hops_k8s::APP, Arc::new(worker));
    Ok(K8sState::new("ready", None, Some(&namespace), grants))
}
