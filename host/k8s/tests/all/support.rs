//! A simulator, a runner on it, and calls to make.

use std::sync::Arc;
use std::time::Duration;

use hops_core::{CallError, CallOutput, CallRequest, Worker as _};
use hops_k8s::{Discovery, K8sConfig, K8sWorker, discover};
use hops_k8s_sim::ApiSim;
use serde_json::Value;

/// A simulator and a runner that talks to it through a kubeconfig file.
pub struct Setup {
    pub sim: ApiSim,
    pub worker: Arc<K8sWorker>,
    /// Holds the kubeconfig file.
    pub _dir: tempfile::TempDir,
}

/// The runner's settings in tests (the kubeconfig's namespace is `default`).
pub fn test_config() -> K8sConfig {
    K8sConfig {
        namespace: "default".into(),
        stream: "hops.test".into(),
        ..K8sConfig::default()
    }
}

pub async fn setup() -> Setup {
    setup_with(test_config()).await
}

pub async fn setup_with(config: K8sConfig) -> Setup {
    hops_testutil::init_tracing();
    let sim = ApiSim::start().await;
    let dir = tempfile::tempdir().unwrap();
    let worker = Arc::new(runner(&sim, dir.path(), config).await);
    Setup {
        sim,
        worker,
        _dir: dir,
    }
}

/// A runner on `sim` (as a host that starts again gets a new one).
pub async fn runner(sim: &ApiSim, dir: &std::path::Path, config: K8sConfig) -> K8sWorker {
    let cluster = discover(&Discovery {
        kubeconfig: Some(sim.kubeconfig(dir)),
        ..Discovery::default()
    })
    .await
    .unwrap();
    assert_eq!(cluster.namespace, "default");
    K8sWorker::new(cluster.client, config)
}

pub fn request(run_id: &str, inputs: Value) -> CallRequest {
    CallRequest {
        run_id: run_id.into(),
        call_id: "build-k8s_run".into(),
        app: "k8s".into(),
        handler: "run".into(),
        inputs: inputs.to_string(),
        attempt: 1,
        timeout: None,
        depth: 0,
    }
}

impl Setup {
    /// Runs one call, bounded so a hang fails the test.
    pub async fn call(&self, request: CallRequest) -> Result<CallOutput, CallError> {
        tokio::time::timeout(Duration::from_secs(30), self.worker.handle(request))
            .await
            .expect("the call did not end within 30 s")
    }

    /// The one Pod that exists now.
    pub fn only_pod(&self) -> k8s_openapi::api::core::v1::Pod {
        let pods = self.sim.pods();
        assert_eq!(pods.len(), 1, "{pods:#?}");
        pods.into_iter().next().unwrap()
    }
}

/// The error text of a call that had to fail.
pub fn rejected(outcome: Result<CallOutput, CallError>) -> String {
    match outcome {
        Err(CallError::Reject(message)) => message,
        other => panic!("expected an errored result, got {other:?}"),
    }
}
