//! The `k8s` app: a [`Worker`] that runs each `k8s_run` call as one Pod, and lets the Pod go
//! once the call's result is stored.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use hops_core::{CallError, CallOutput, CallRequest, Worker};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use tracing::{Instrument as _, debug, info, warn};

use crate::call::{self, Placed};
use crate::config::K8sConfig;
use crate::pod::{self, CALL_ANNOTATION, CallRef, MANAGED_BY, RUN_ANNOTATION, SKIP_CLEANUP_LABEL};

/// The app name pipelines call (`call k8s_run`).
pub const APP: &str = "k8s";
/// Its one handler.
pub const HANDLERS: &[&str] = &["run"];

/// Tells whether a call's result is stored (the host's bus answers).
#[async_trait]
pub trait StoredResults: Send + Sync {
    /// Whether the result of `call_id` in `run_id` is stored.
    async fn is_stored(&self, run_id: &str, call_id: &str) -> anyhow::Result<bool>;
}

/// The native Kubernetes runner.
pub struct K8sWorker {
    client: kube::Client,
    config: K8sConfig,
    /// Pods of the calls this process is running, by `run/call`: where to find them when the
    /// result is stored.
    placed: Mutex<BTreeMap<String, Placed>>,
}

impl K8sWorker {
    /// A runner on `client` with `config`.
    pub fn new(client: kube::Client, config: K8sConfig) -> K8sWorker {
        K8sWorker {
            client,
            config,
            placed: Mutex::new(BTreeMap::new()),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &K8sConfig {
        &self.config
    }

    fn key(run_id: &str, call_id: &str) -> String {
        format!("{run_id}/{call_id}")
    }

    /// Deletes the Pods (and input ConfigMaps) this runner made whose call already has a
    /// stored result: what a host that died between storing a result and deleting its Pod
    /// left behind. Pods without the runner's labels and annotations are never touched.
    /// Returns how many it deleted.
    ///
    /// # Errors
    ///
    /// When the Pods cannot be listed.
    pub async fn collect_orphans(&self, results: &dyn StoredResults) -> anyhow::Result<usize> {
        let selector = pod::owned_selector(&self.config);
        let params = ListParams::default().labels(&selector);
        let scopes: Vec<Api<Pod>> = match self.config.namespaces() {
            Some(namespaces) => namespaces
                .iter()
                .map(|ns| Api::namespaced(self.client.clone(), ns))
                .collect(),
            None => vec![Api::all(self.client.clone())],
        };
        let mut collected = 0;
        for pods in scopes {
            let list = pods.list(&params).await?;
            for found in list.items {
                let labels = found.metadata.labels.clone().unwrap_or_default();
                let annotations = found.metadata.annotations.clone().unwrap_or_default();
                let (Some(run_id), Some(call_id)) = (
                    annotations.get(RUN_ANNOTATION),
                    annotations.get(CALL_ANNOTATION),
                ) else {
                    continue;
                };
                if labels.get(MANAGED_BY.0).map(String::as_str) != Some(MANAGED_BY.1)
                    || labels.get(SKIP_CLEANUP_LABEL).map(String::as_str) == Some("true")
                {
                    continue;
                }
                match results.is_stored(run_id, call_id).await {
                    Ok(true) => {
                        let namespace = found.metadata.namespace.clone().unwrap_or_default();
                        let name = found.metadata.name.clone().unwrap_or_default();
                        if self.delete(&namespace, &name).await {
                            collected += 1;
                        }
                    }
                    Ok(false) => {}
                    Err(err) => debug!(error = %err, "could not check a pod's call for a result"),
                }
            }
        }
        if collected > 0 {
            info!(
                collected,
                "deleted pods of calls that had finished before this host started"
            );
        }
        Ok(collected)
    }

    /// Deletes a Pod and its input ConfigMap; true when the Pod was there.
    async fn delete(&self, namespace: &str, name: &str) -> bool {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let deleted = match pods.delete(name, &DeleteParams::background()).await {
            Ok(_) => true,
            Err(kube::Error::Api(status)) if status.code == 404 => false,
            Err(err) => {
                warn!(pod = %name, namespace, error = %err, "could not delete the pod of a finished call");
                return false;
            }
        };
        // Kubernetes collects the ConfigMap with its owner; deleting it here as well keeps a
        // cluster without the garbage collector tidy.
        let configmaps: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        match configmaps.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(err) => debug!(configmap = %name, error = %err, "could not delete the input files"),
        }
        if deleted {
            debug!(pod = %name, namespace, "pod deleted");
        }
        deleted
    }

    /// Finds the Pod of a call another process (or an earlier life of this one) ran.
    async fn find(&self, call: &CallRef) -> Option<Placed> {
        let name = pod::pod_name(call);
        let namespaces = match self.config.namespaces() {
            Some(namespaces) => namespaces,
            None => {
                let selector = format!(
                    "{},{}={}",
                    pod::owned_selector(&self.config),
                    pod::RUN_LABEL,
                    pod::label_value(&call.run_id)
                );
                let all: Api<Pod> = Api::all(self.client.clone());
                let list = all
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .ok()?;
                list.items
                    .iter()
                    .filter(|p| p.metadata.name.as_deref() == Some(&name))
                    .filter_map(|p| p.metadata.namespace.clone())
                    .collect()
            }
        };
        for namespace in namespaces {
            let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
            if let Ok(Some(found)) = pods.get_opt(&name).await {
                let annotations = found.metadata.annotations.unwrap_or_default();
                if annotations.get(CALL_ANNOTATION) != Some(&call.call_id)
                    || annotations.get(RUN_ANNOTATION) != Some(&call.run_id)
                {
                    continue;
                }
                let skip_cleanup = found
                    .metadata
                    .labels
                    .unwrap_or_default()
                    .get(SKIP_CLEANUP_LABEL)
                    .is_some_and(|v| v == "true");
                return Some(Placed {
                    namespace,
                    name,
                    skip_cleanup,
                });
            }
        }
        None
    }

    async fn run(&self, request: CallRequest) -> Result<CallOutput, CallError> {
        let (inputs, namespace) = call::plan(&request, &self.config)?;
        let call = CallRef {
            run_id: request.run_id.clone(),
            call_id: request.call_id.clone(),
        };
        let (pods, placed) =
            call::place(&self.client, &self.config, &call, &namespace, &inputs).await?;
        self.placed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Self::key(&call.run_id, &call.call_id), placed.clone());
        call::finish(&pods, &placed, &inputs, &self.config).await
    }
}

#[async_trait]
impl Worker for K8sWorker {
    async fn handle(&self, request: CallRequest) -> Result<CallOutput, CallError> {
        let span =
            tracing::info_span!("hops.k8s.run", run_id = %request.run_id, call = %request.call_id);
        self.run(request).instrument(span).await
    }

    fn max_concurrency(&self) -> usize {
        self.config.max_pods.max(1)
    }

    fn describe(&self) -> String {
        format!("native, namespace {}", self.config.namespace)
    }

    async fn result_stored(&self, run_id: &str, call_id: &str) {
        let known = self
            .placed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&Self::key(run_id, call_id));
        let call = CallRef {
            run_id: run_id.to_owned(),
            call_id: call_id.to_owned(),
        };
        let placed = match known {
            Some(placed) => Some(placed),
            None => self.find(&call).await,
        };
        match placed {
            Some(placed) if placed.skip_cleanup => {
                debug!(pod = %placed.name, "skip_cleanup: the pod stays");
            }
            Some(placed) => {
                self.delete(&placed.namespace, &placed.name).await;
            }
            None => {}
        }
    }
}
