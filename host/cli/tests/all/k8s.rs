//! `hops up` with the k8s runner: against the API simulator a pipeline's `k8s_run` call runs
//! as a Pod and completes; with no cluster the runner is off with one line and its calls wait
//! visibly.

use std::time::Duration;

use hops_k8s_sim::{ApiSim, PodScript};
use serde_json::Value;

use crate::up::Up;

const PIPELINE: &str = r#"on build {
  call k8s_run {
    name   = "test"
    inputs = {
      image    = "builder:cli"
      command  = ["make", "test"]
      in_files = { "Makefile" = "test:\n\ttrue\n" }
    }
  }
}
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hops"), PIPELINE).unwrap();
    dir
}

#[test]
fn a_pipeline_runs_a_container_step_through_hops_up() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(ApiSim::start());
    sim.script(
        "builder:cli",
        PodScript {
            message: "{\"tests\": 42}".into(),
            logs: vec!["running 42 tests".into()],
            ..PodScript::default()
        },
    );
    let dir = project();
    let kubeconfig = sim.kubeconfig(dir.path());
    let up = Up::start_with(
        dir.path(),
        &[("HOPS_KUBECONFIG", kubeconfig.to_str().unwrap())],
    );
    let log = up.log();
    assert!(
        log.contains("app k8s (native) ready: namespace default, kubeconfig "),
        "{log}"
    );
    let sent = up.hops(&[
        "event", "send", "--source", "t", "--event", "build", "--wait", "--json",
    ]);
    let stdout = String::from_utf8_lossy(&sent.stdout).to_string();
    assert!(
        sent.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&sent.stderr),
        up.log()
    );
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["status"], "completed", "{answer:#}");
    assert_eq!(sim.created().len(), 1);
    let listed = up.hops(&["plugins", "list"]);
    let table = String::from_utf8_lossy(&listed.stdout).to_string();
    let row = table
        .lines()
        .find(|l| l.starts_with("k8s "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains("ready") && row.contains("namespaces: default"),
        "{row}"
    );
    runtime.block_on(
        sim.eventually(Duration::from_secs(20), "the pod to be deleted", |sim| {
            sim.pods().is_empty()
        }),
    );
    up.terminate();
}

#[test]
fn without_a_cluster_the_runner_is_off_and_its_calls_wait_visibly() {
    let dir = project();
    let home = tempfile::tempdir().unwrap();
    let up = Up::start_with(
        dir.path(),
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("KUBECONFIG", ""),
            ("KUBERNETES_SERVICE_HOST", ""),
        ],
    );
    let log = up.log();
    let off: Vec<&str> = log.lines().filter(|l| l.contains("app k8s")).collect();
    assert_eq!(off.len(), 1, "one line: {log}");
    assert!(
        off[0].contains("app k8s: off: no Kubernetes cluster found"),
        "{log}"
    );
    let sent = up.hops(&[
        "event", "send", "--source", "t", "--event", "build", "--json",
    ]);
    let stdout = String::from_utf8_lossy(&sent.stdout).to_string();
    assert!(sent.status.success(), "{stdout}");
    let run = serde_json::from_str::<Value>(&stdout).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!("{}/api/runs/{run}", up.api);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let view: Value =
            runtime.block_on(async { reqwest::get(&url).await.unwrap().json().await.unwrap() });
        let waiting = view["calls"][0]["waiting_for"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if waiting
            .contains("no worker serves app k8s: start a host that reaches a Kubernetes cluster")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{view:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The rest of the host runs.
    assert_eq!(up.get("/health"), Some(200));
    up.terminate();
}
