//! A Kubernetes API simulator for tests: no cluster can run on the build machines, so the k8s
//! runner is tested against this instead — an HTTP server speaking the real API for what the
//! runner uses (pods, pod logs, configmaps; get, list, create, delete, watch), with objects
//! from `k8s-openapi`, `resourceVersion`s, `?watch=true` streams of watch events with
//! bookmarks, `410 Gone` for a version that is too old, `409 AlreadyExists`, and a simulated
//! kubelet that moves each Pod through `Pending → Running → Succeeded/Failed` as the test's
//! script for its image says.
//!
//! The real `kube::Client` talks to it through the kubeconfig [`ApiSim::kubeconfig`] writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kubelet;
mod server;
mod store;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Pod};

pub use kubelet::PodScript;
use store::Store;

/// A running simulator; stops when dropped.
pub struct ApiSim {
    addr: SocketAddr,
    store: Arc<Store>,
    server: tokio::task::JoinHandle<()>,
}

impl ApiSim {
    /// Serves on a free loopback port. Every pod follows [`PodScript::default`] unless its
    /// image has a script ([`ApiSim::script`]).
    pub async fn start() -> ApiSim {
        let store = Arc::new(Store::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = server::router(Arc::clone(&store));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ApiSim {
            addr,
            store,
            server,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig for this simulator (namespace `default`) into `dir`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {}\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n    namespace: default\ncurrent-context: sim\nusers:\n- name: sim\n  user:\n    token: sim-token\n",
            self.url()
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Pods whose first container uses `image` behave as `script` says.
    pub fn script(&self, image: &str, script: PodScript) {
        self.store
            .scripts
            .lock()
            .unwrap()
            .insert(image.to_owned(), script);
    }

    /// Every pod ever created, by `namespace/name`, in creation order.
    pub fn created(&self) -> Vec<String> {
        self.store.created.lock().unwrap().clone()
    }

    /// The pod, if it exists now.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<Pod> {
        self.store.pod(namespace, name)
    }

    /// Every pod that exists now.
    pub fn pods(&self) -> Vec<Pod> {
        self.store.all_pods()
    }

    /// The configmap, if it exists now.
    pub fn configmap(&self, namespace: &str, name: &str) -> Option<ConfigMap> {
        self.store.configmap(namespace, name)
    }

    /// Deletes a pod as someone else would (`kubectl delete pod`).
    pub fn delete_pod(&self, namespace: &str, name: &str) -> bool {
        self.store.delete_pod(namespace, name)
    }

    /// Adds a pod as someone else would (created outside the runner).
    pub fn put_pod(&self, pod: Pod) {
        self.store.insert_pod(pod, false);
    }

    /// Ends every open watch stream, as a dropped connection or an API server restart does.
    pub fn drop_watches(&self) {
        self.store.drop_watches();
    }

    /// Forgets the event history: a watch from any earlier resourceVersion gets 410 Gone.
    pub fn expire_history(&self) {
        self.store.expire_history();
    }

    /// `(resource, verb)` pairs the API was asked for (`pods`/`create`, `pods/log`/`get`, …).
    pub fn verbs_seen(&self) -> BTreeSet<(String, String)> {
        self.store.verbs.lock().unwrap().clone()
    }

    /// How many watches were answered `410 Gone` (their resourceVersion was too old).
    pub fn gone_answers(&self) -> usize {
        self.store.gone.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Open watch streams right now.
    pub fn open_watches(&self) -> usize {
        self.store.open_watches()
    }

    /// Waits until `check` holds (polling), panicking after `within`.
    pub async fn eventually(&self, within: Duration, what: &str, check: impl Fn(&ApiSim) -> bool) {
        let deadline = tokio::time::Instant::now() + within;
        while !check(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ApiSim {
    fn drop(&mut self) {
        self.server.abort();
        self.store.shutdown();
    }
}
