//! Against a real cluster (kind or k3d), when `HOPS_TEST_KUBECONFIG` names its kubeconfig:
//! `cargo test -p hops-k8s -- --ignored` (see CONTRIBUTING.md). The simulator stands in for
//! everything else; this checks the assumptions the simulator encodes.

use std::time::Duration;

use hops_core::{CallError, Worker as _};
use hops_k8s::{Discovery, K8sConfig, K8sWorker, discover};
use serde_json::json;

use crate::support::request;

#[tokio::test]
#[ignore = "needs a cluster: set HOPS_TEST_KUBECONFIG"]
async fn a_real_cluster_runs_completes_fails_and_cleans_up() {
    let Some(path) = std::env::var_os("HOPS_TEST_KUBECONFIG") else {
        panic!("set HOPS_TEST_KUBECONFIG to a kind or k3d cluster's kubeconfig");
    };
    let cluster = discover(&Discovery {
        kubeconfig: Some(path.into()),
        namespace: std::env::var("HOPS_TEST_K8S_NAMESPACE").ok(),
        ..Discovery::default()
    })
    .await
    .unwrap();
    let worker = K8sWorker::new(
        cluster.client.clone(),
        K8sConfig {
            namespace: cluster.namespace.clone(),
            stream: "hops.real-cluster-test".into(),
            ..K8sConfig::default()
        },
    );
    let run = format!("real-{}", std::process::id());
    let ok = worker
        .handle(request(
            &run,
            json!({
                "image": "busybox:1.36",
                "command": ["sh", "-c", "cat /input/msg.txt; printf '{\"ok\": true}' > /dev/termination-log"],
                "in_files": {"msg.txt": "hello from in_files"},
                "start_timeout": "5m",
            }),
        ))
        .await
        .unwrap();
    assert_eq!(ok.json, Some(json!({"ok": true})));
    assert!(ok.body.contains("hello from in_files"), "{}", ok.body);
    worker.result_stored(&run, "build-k8s_run").await;

    let mut failing = request(
        &format!("{run}-f"),
        json!({"image": "busybox:1.36", "command": ["sh", "-c", "echo boom; exit 4"]}),
    );
    failing.call_id = "build-k8s_run".into();
    match worker.handle(failing).await {
        Err(CallError::Reject(message)) => {
            assert!(message.contains("exited with code 4"), "{message}");
            assert!(message.contains("boom"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    worker
        .result_stored(&format!("{run}-f"), "build-k8s_run")
        .await;

    let stuck = worker
        .handle(request(
            &format!("{run}-s"),
            json!({"image": "hops.invalid/no-such-image:0", "start_timeout": "20s"}),
        ))
        .await;
    match stuck {
        Err(CallError::Reject(message)) => assert!(
            message.contains("ErrImagePull") || message.contains("ImagePullBackOff"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    worker
        .result_stored(&format!("{run}-s"), "build-k8s_run")
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
}
