//! `hops_k8s::rbac::PERMISSIONS` is exactly what the runner asks of the API — checked against
//! what the simulator saw over a call that uses all of them — and `deploy/kubernetes/rbac.yaml`
//! grants exactly that.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use hops_core::Worker as _;
use hops_k8s::StoredResults;
use hops_k8s_sim::PodScript;
use k8s_openapi::api::rbac::v1::Role;
use serde::Deserialize as _;
use serde_json::json;

use crate::support::*;

struct AllStored;

#[async_trait]
impl StoredResults for AllStored {
    async fn is_stored(&self, _: &str, _: &str) -> anyhow::Result<bool> {
        Ok(true)
    }
}

fn role() -> Role {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes/rbac.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_yaml::Value::deserialize(document).unwrap();
        if value["kind"] == "Role" {
            return serde_yaml::from_value(value).unwrap();
        }
    }
    panic!("no Role in {}", path.display());
}

#[tokio::test]
async fn the_role_covers_every_verb_the_runner_uses() {
    let s = setup().await;
    s.sim.script(
        "slow:1",
        PodScript {
            run: Duration::from_millis(600),
            logs: vec!["hi".into()],
            ..PodScript::default()
        },
    );
    let inputs = json!({"image": "slow:1", "in_files": {"a.txt": "a"}});
    // Cut off, then adopted (get), then finished (watch, log), then cleaned up (delete), then
    // a start-up collection (list).
    let _ = tokio::time::timeout(
        Duration::from_millis(200),
        s.worker.handle(request("run-r", inputs.clone())),
    )
    .await;
    s.call(request("run-r", inputs)).await.unwrap();
    s.worker.result_stored("run-r", "build-k8s_run").await;
    s.worker.collect_orphans(&AllStored).await.unwrap();

    let needed: BTreeSet<(String, String)> = hops_k8s::rbac::needed()
        .into_iter()
        .map(|(_, resource, verb)| (resource, verb))
        .collect();
    let seen = s.sim.verbs_seen();
    let missing: Vec<_> = seen.difference(&needed).collect();
    assert!(missing.is_empty(), "PERMISSIONS lacks {missing:?}");
    let unused: Vec<_> = needed.difference(&seen).collect();
    assert!(
        unused.is_empty(),
        "PERMISSIONS names {unused:?}, which the runner never used: the smallest Role that works has none"
    );
    assert_eq!(
        hops_k8s::rbac::granted_by(&role()),
        hops_k8s::rbac::needed(),
        "deploy/kubernetes/rbac.yaml grants other than the runner needs"
    );
}
