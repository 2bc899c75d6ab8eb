//! At start-up the runner deletes the Pods of calls that already have a stored result, and
//! nothing else.

use std::collections::BTreeSet;

use async_trait::async_trait;
use hops_k8s::StoredResults;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use crate::support::*;

struct Stored(BTreeSet<(String, String)>);

#[async_trait]
impl StoredResults for Stored {
    async fn is_stored(&self, run_id: &str, call_id: &str) -> anyhow::Result<bool> {
        Ok(self.0.contains(&(run_id.to_owned(), call_id.to_owned())))
    }
}

/// A Pod with the runner's labels and annotations for `run`, optionally changed by `edit`.
fn pod_of(run: &str, edit: impl FnOnce(&mut Pod)) -> Pod {
    let mut pod: Pod = serde_json::from_value(json!({
        "metadata": {
            "name": format!("hops-build-k8s-run-{run}"),
            "namespace": "default",
            "labels": {
                "app.kubernetes.io/managed-by": "hops",
                "hops.dev/app": "k8s",
                "hops.dev/stream": "hops.test",
                "hops.dev/run": run,
                "hops.dev/call": "build-k8s_run",
            },
            "annotations": {"hops.dev/run-id": run, "hops.dev/call-id": "build-k8s_run"},
        },
        "spec": {"containers": [{"name": "main", "image": "a:1"}]},
    }))
    .unwrap();
    edit(&mut pod);
    pod
}

#[tokio::test]
async fn pods_of_finished_calls_are_collected_and_no_others() {
    let s = setup().await;
    s.sim.put_pod(pod_of("done", |_| {}));
    s.sim.put_pod(pod_of("running", |_| {}));
    s.sim.put_pod(pod_of("kept", |p| {
        p.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("hops.dev/skip-cleanup".into(), "true".into());
    }));
    // Not ours: no managed-by label, though the annotations match a finished call.
    s.sim.put_pod(pod_of("foreign", |p| {
        p.metadata
            .labels
            .as_mut()
            .unwrap()
            .remove("app.kubernetes.io/managed-by");
    }));
    // Another host's (another stream).
    s.sim.put_pod(pod_of("elsewhere", |p| {
        p.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("hops.dev/stream".into(), "hops.prod".into());
    }));
    let stored = Stored(
        ["done", "kept", "foreign", "elsewhere"]
            .iter()
            .map(|r| ((*r).to_owned(), "build-k8s_run".to_owned()))
            .collect(),
    );
    let collected = s.worker.collect_orphans(&stored).await.unwrap();
    assert_eq!(collected, 1);
    let mut left: Vec<String> = s
        .sim
        .pods()
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "hops-build-k8s-run-elsewhere",
            "hops-build-k8s-run-foreign",
            "hops-build-k8s-run-kept",
            "hops-build-k8s-run-running"
        ]
    );
}
