//! The runner inside a real host over a real nats-server: a host killed mid-call and started
//! again makes exactly one Pod and stores exactly one result.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hops_api::{CallStatus, HostApi as _, RunStatus, RunView};
use hops_bus::{Bus, BusConfig, WorkerConsumerOptions};
use hops_core::Workers;
use hops_k8s::StoredResults;
use hops_k8s_sim::{ApiSim, PodScript};
use hops_runtime::{Host, HostConfig, Roles};
use hops_testutil::NatsServer;
use serde_json::json;

use crate::support::{runner, test_config};

const WAIT: Duration = Duration::from_secs(40);

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/runs/k8s/main")
}

/// The original engine's documented `k8s_run` example, from the compat cases outside this
/// repository (`../shared/compat/cases`, or `HOPS_COMPAT_CASES`).
fn original_example() -> Option<PathBuf> {
    let cases = std::env::var_os("HOPS_COMPAT_CASES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/cases"),
        PathBuf::from,
    );
    let dir = cases.join("docs_k8s_01_call_run");
    dir.join("main.hops").is_file().then_some(dir)
}

async fn connect(url: &str) -> Arc<Bus> {
    Arc::new(Bus::connect(BusConfig::new(url)).await.unwrap())
}

/// A host with every role but the API, serving `k8s` through `kubeconfig`; short ack waits
/// so a redelivery after a kill comes within the test.
async fn host_config(url: &str, kubeconfig: &Path) -> HostConfig {
    host_config_in(url, kubeconfig, &fixture()).await
}

async fn host_config_in(url: &str, kubeconfig: &Path, pipelines: &Path) -> HostConfig {
    let cluster = hops_k8s::discover(&hops_k8s::Discovery {
        kubeconfig: Some(kubeconfig.to_owned()),
        ..hops_k8s::Discovery::default()
    })
    .await
    .unwrap();
    let workers = Workers::new();
    workers.insert(
        "k8s",
        Arc::new(hops_k8s::K8sWorker::new(cluster.client, test_config())),
    );
    let mut config = HostConfig::new(connect(url).await, pipelines);
    config.workers = workers;
    config.roles = Roles {
        runner: true,
        workers: true,
        api: false,
    };
    config.worker_consumer = WorkerConsumerOptions {
        ack_wait: Duration::from_secs(2),
        ..WorkerConsumerOptions::default()
    };
    config
}

/// Reads results the way the CLI's orphan collection does.
struct BusResults(Arc<Bus>);

#[async_trait]
impl StoredResults for BusResults {
    async fn is_stored(&self, run_id: &str, call_id: &str) -> anyhow::Result<bool> {
        let subject = self.0.subjects().result(run_id, call_id)?;
        Ok(self.0.has_message(&subject).await?)
    }
}

async fn wait_run(host: &Host, run_id: &str) -> RunView {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(view) = host.services().run(run_id).await
            && view.status.is_finished()
        {
            return view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run {run_id} did not finish: {:#?}",
            host.services().run(run_id).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_mid_call_and_restarted_makes_one_pod_and_one_result() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let sim = ApiSim::start().await;
    let dir = tempfile::tempdir().unwrap();
    sim.script(
        "builder:2",
        PodScript {
            run: Duration::from_millis(2500),
            message: "{\"tests\": \"passed\"}".into(),
            logs: vec!["ok".into()],
            ..PodScript::default()
        },
    );
    let mut watcher_config = HostConfig::new(connect(&nats.url()).await, fixture());
    watcher_config.roles = Roles {
        runner: false,
        workers: false,
        api: true,
    };
    let watcher = Host::start(watcher_config).await.unwrap();

    // The first host, on its own runtime so it can be killed outright.
    let first = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let kubeconfig = sim.kubeconfig(dir.path());
    let started = {
        let url = nats.url();
        let kubeconfig = kubeconfig.clone();
        // The host's API client lives on the host's runtime and dies with it.
        first.spawn(async move {
            let host = Host::start(host_config(&url, &kubeconfig).await)
                .await
                .unwrap();
            std::future::pending::<()>().await;
            drop(host);
        })
    };
    drop(started);
    let run = watcher
        .services()
        .send_event(
            json!({"image": "builder:2", "hops": {"source": "t", "event": "build"}}),
            None,
        )
        .await
        .unwrap()
        .run_id;
    sim.eventually(WAIT, "the pod to run", |sim| {
        sim.pods()
            .iter()
            .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
    })
    .await;
    first.shutdown_background();

    // Started again: it collects nothing (the call has no result yet) and adopts the Pod.
    let config = host_config(&nats.url(), &kubeconfig).await;
    let again = runner(&sim, dir.path(), test_config()).await;
    let bus = connect(&nats.url()).await;
    assert_eq!(
        again
            .collect_orphans(&BusResults(Arc::clone(&bus)))
            .await
            .unwrap(),
        0
    );
    let second = Host::start(config).await.unwrap();
    let view = wait_run(&watcher, &run).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    let call = &view.calls[0];
    assert_eq!(call.status, CallStatus::Completed);
    assert_eq!(call.result, Some(json!({"tests": "passed"})));
    assert_eq!(call.attempts, Some(2), "{view:#?}");
    assert_eq!(
        sim.created().len(),
        1,
        "exactly one Pod: {:?}",
        sim.created()
    );
    // Exactly one result: the subject holds one message, and a second store is refused.
    let subject = bus.subjects().result(&run, "build-test").unwrap();
    assert!(bus.has_message(&subject).await.unwrap());
    let second_store = bus
        .publish_once(&subject, bytes::Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert!(second_store.duplicate, "a second result cannot be stored");
    // The Pod goes once the result is stored.
    sim.eventually(WAIT, "the pod to be deleted", |sim| sim.pods().is_empty())
        .await;
    second.shutdown(Duration::from_secs(5)).await;
    watcher.shutdown(Duration::from_secs(5)).await;
}

/// A pipeline's `k8s_run` call runs on the simulator and completes; the Pod is gone after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_call_runs_as_a_pod_and_completes() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let sim = ApiSim::start().await;
    let dir = tempfile::tempdir().unwrap();
    sim.script(
        "builder:3",
        PodScript {
            message: "{\"ok\": true}".into(),
            ..PodScript::default()
        },
    );
    let mut config = host_config(&nats.url(), &sim.kubeconfig(dir.path())).await;
    config.roles = Roles::ALL;
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    let host = Host::start(config).await.unwrap();
    let run = host
        .services()
        .send_event(
            json!({"image": "builder:3", "hops": {"source": "t", "event": "build"}}),
            None,
        )
        .await
        .unwrap()
        .run_id;
    let view = wait_run(&host, &run).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    let pod = sim.created();
    assert_eq!(pod.len(), 1);
    sim.eventually(WAIT, "the pod to be deleted", |sim| sim.pods().is_empty())
        .await;
    host.shutdown(Duration::from_secs(5)).await;
}

/// The original's own documented example runs: its `out_dir`/`out_path` result file becomes
/// the termination message path, and what the container writes there is the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_engines_documented_example_runs() {
    let Some(example) = original_example() else {
        eprintln!("no compat cases (../shared/compat/cases or HOPS_COMPAT_CASES); skipped");
        return;
    };
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let sim = ApiSim::start().await;
    let dir = tempfile::tempdir().unwrap();
    sim.script(
        "bash:5-alpine3.18",
        PodScript {
            message: "{\"greeting\": \"Hello world!\"}\n".into(),
            ..PodScript::default()
        },
    );
    let mut config = host_config_in(&nats.url(), &sim.kubeconfig(dir.path()), &example).await;
    config.roles = Roles::ALL;
    let host = Host::start(config).await.unwrap();
    let run = host
        .services()
        .send_event(
            json!({"hops": {"source": "t", "event": "docs", "action": "example"}}),
            None,
        )
        .await
        .unwrap()
        .run_id;
    let view = wait_run(&host, &run).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_eq!(
        view.calls[0].result,
        Some(json!({"greeting": "Hello world!"}))
    );
    let created = sim.created();
    assert_eq!(created.len(), 1);
    host.shutdown(Duration::from_secs(5)).await;
}
