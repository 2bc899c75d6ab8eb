//! One call at a time: how each way a Pod can end becomes the call's result.

use std::time::{Duration, Instant};

use hops_core::Worker as _;
use hops_k8s::pod::{RUN_ANNOTATION, SKIP_CLEANUP_LABEL};
use hops_k8s_sim::PodScript;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_json_termination_message_is_the_result_and_the_log_its_body() {
    let s = setup().await;
    s.sim.script(
        "builder:1",
        PodScript {
            message: "{\"passed\": 12, \"failed\": 0}\n".into(),
            logs: vec!["cloning".into(), "12 tests passed".into()],
            ..PodScript::default()
        },
    );
    let out = s
        .call(request(
            "run-1",
            json!({
                "image": "builder:1",
                "command": ["sh", "/input/build.sh"],
                "in_files": {"build.sh": "make test", "conf/app.toml": "x = 1"},
                "env": {"GIT_SHA": "abc123"},
                "memory": "256Mi",
            }),
        ))
        .await
        .unwrap();
    assert_eq!(out.json, Some(json!({"passed": 12, "failed": 0})));
    assert_eq!(out.body, "cloning\n12 tests passed\n");

    // The Pod: named for the call, labelled, locked down, with its files mounted.
    let pod = s.only_pod();
    let name = pod.metadata.name.clone().unwrap();
    assert!(name.starts_with("hops-build-k8s-run-"), "{name}");
    let labels = pod.metadata.labels.clone().unwrap();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "hops");
    assert_eq!(labels["hops.dev/run"], "run-1");
    assert_eq!(labels["hops.dev/call"], "build-k8s_run");
    assert_eq!(labels["hops.dev/pipeline"], "build");
    assert_eq!(labels["hops.dev/app"], "k8s");
    assert_eq!(
        pod.metadata.annotations.clone().unwrap()[RUN_ANNOTATION],
        "run-1"
    );
    let spec = pod.spec.clone().unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(spec.automount_service_account_token, Some(false));
    assert_eq!(
        spec.security_context.as_ref().unwrap().run_as_non_root,
        Some(true)
    );
    let main = &spec.containers[0];
    assert_eq!(
        main.termination_message_policy.as_deref(),
        Some("FallbackToLogsOnError")
    );
    let env: Vec<(String, String)> = main
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect();
    assert!(env.contains(&("GIT_SHA".into(), "abc123".into())));
    assert!(env.contains(&("HOPS_RUN_ID".into(), "run-1".into())));
    let resources = main.resources.clone().unwrap();
    assert_eq!(resources.limits.unwrap()["memory"].0, "256Mi");
    let files = s.sim.configmap("default", &name).expect("the input files");
    assert_eq!(files.data.unwrap().len(), 2);
    assert_eq!(
        files.metadata.owner_references.unwrap()[0].uid,
        pod.metadata.uid.clone().unwrap(),
        "owned by the Pod, so Kubernetes collects it"
    );

    // Once the result is stored, the Pod and its files go.
    s.worker.result_stored("run-1", "build-k8s_run").await;
    assert!(s.sim.pods().is_empty());
    assert!(s.sim.configmap("default", &name).is_none());
}

#[tokio::test]
async fn a_text_message_is_a_json_string_and_the_originals_out_path_stays_text_in_body() {
    let s = setup().await;
    s.sim.script(
        "text:1",
        PodScript {
            message: "all good\n".into(),
            logs: vec!["log line".into()],
            ..PodScript::default()
        },
    );
    let out = s
        .call(request("run-t", json!({"image": "text:1"})))
        .await
        .unwrap();
    assert_eq!(out.json, Some(json!("all good")));
    assert_eq!(out.body, "log line\n");
    // As the original: `out_path` not ending in .json is text, in body.
    let out = s
        .call(request(
            "run-t2",
            json!({"image": "text:1", "out_path": "report.txt"}),
        ))
        .await
        .unwrap();
    assert_eq!(out.json, None);
    assert_eq!(out.body, "all good\n");
    let pod = s
        .sim
        .pods()
        .into_iter()
        .find(|p| p.metadata.labels.as_ref().unwrap()["hops.dev/run"] == "run-t2")
        .unwrap();
    let main = &pod.spec.unwrap().containers[0];
    assert_eq!(
        main.termination_message_path.as_deref(),
        Some("/output/report.txt")
    );
}

#[tokio::test]
async fn a_non_zero_exit_is_errored_with_its_code_and_log_tail() {
    let s = setup().await;
    s.sim.script(
        "failing:1",
        PodScript {
            exit_code: 3,
            logs: vec![
                "compiling".into(),
                "error[E0425]: cannot find value `x`".into(),
            ],
            ..PodScript::default()
        },
    );
    let error = rejected(
        s.call(request("run-2", json!({"image": "failing:1"})))
            .await,
    );
    assert!(error.contains("exited with code 3 (Error)"), "{error}");
    assert!(
        error.contains("last lines of its log:\ncompiling\nerror[E0425]"),
        "{error}"
    );
    // The fallback message is the log's end: said once, not twice.
    assert_eq!(error.matches("cannot find value").count(), 1, "{error}");

    s.sim.script(
        "hungry:1",
        PodScript {
            exit_code: 137,
            reason: Some("OOMKilled".into()),
            ..PodScript::default()
        },
    );
    let error = rejected(
        s.call(request(
            "run-3",
            json!({"image": "hungry:1", "memory": "64Mi"}),
        ))
        .await,
    );
    assert!(
        error.contains(
            "more memory than its limit of 64Mi (OOMKilled, exit code 137); raise `memory`"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn image_pull_back_off_ends_the_call_at_its_start_timeout() {
    let s = setup().await;
    s.sim.script(
        "nope:1",
        PodScript {
            stuck: Some((
                "ImagePullBackOff".into(),
                "Back-off pulling image \"nope:1\"".into(),
            )),
            ..PodScript::default()
        },
    );
    let began = Instant::now();
    let error = rejected(
        s.call(request(
            "run-4",
            json!({"image": "nope:1", "start_timeout": "1s"}),
        ))
        .await,
    );
    let took = began.elapsed();
    assert!(
        error.contains(
            "did not start within its start_timeout of 1s: ImagePullBackOff: Back-off pulling image \"nope:1\""
        ),
        "{error}"
    );
    // No watch event came after the first second: the deadline alone ended it.
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "{took:?}"
    );

    s.sim.script(
        "big:1",
        PodScript {
            stuck: Some((
                "Unschedulable".into(),
                "0/3 nodes are available: 3 Insufficient memory.".into(),
            )),
            ..PodScript::default()
        },
    );
    let error = rejected(
        s.call(request(
            "run-5",
            json!({"image": "big:1", "start_timeout": 1}),
        ))
        .await,
    );
    assert!(
        error.contains("Unschedulable: 0/3 nodes are available: 3 Insufficient memory."),
        "{error}"
    );
}

#[tokio::test]
async fn a_pod_deleted_by_someone_else_ends_the_call_errored() {
    let s = setup().await;
    s.sim.script(
        "long:1",
        PodScript {
            run: Duration::from_secs(30),
            ..PodScript::default()
        },
    );
    let worker = std::sync::Arc::clone(&s.worker);
    let call = tokio::spawn(async move {
        worker
            .handle(request("run-6", json!({"image": "long:1"})))
            .await
    });
    s.sim
        .eventually(Duration::from_secs(10), "the pod to run", |sim| {
            sim.pods()
                .iter()
                .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        })
        .await;
    let name = s.only_pod().metadata.name.unwrap();
    assert!(s.sim.delete_pod("default", &name));
    let error = rejected(
        tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .unwrap()
            .unwrap(),
    );
    assert!(
        error.contains("was deleted before its container finished (not by Hops)"),
        "{error}"
    );
}

#[tokio::test]
async fn a_dropped_watch_and_410_gone_mid_call_still_end_in_one_result() {
    let s = setup().await;
    s.sim.script(
        "steady:1",
        PodScript {
            run: Duration::from_millis(1500),
            message: "{\"ok\": true}".into(),
            ..PodScript::default()
        },
    );
    let worker = std::sync::Arc::clone(&s.worker);
    let call = tokio::spawn(async move {
        worker
            .handle(request("run-7", json!({"image": "steady:1"})))
            .await
    });
    s.sim
        .eventually(
            Duration::from_secs(10),
            "the pod to run and be watched",
            |sim| {
                sim.open_watches() > 0
                    && sim.pods().iter().any(|p| {
                        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                    })
            },
        )
        .await;
    // The API server restarts: every watch ends, and the versions they knew are forgotten.
    s.sim.expire_history();
    s.sim.drop_watches();
    let out = tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(out.json, Some(json!({"ok": true})));
    assert!(
        s.sim.gone_answers() >= 1,
        "the watch resumed from a stale version and re-listed"
    );
    assert_eq!(s.sim.created().len(), 1);
}

#[tokio::test]
async fn a_redelivered_call_adopts_its_pod() {
    let s = setup().await;
    s.sim.script(
        "slow:1",
        PodScript {
            run: Duration::from_millis(800),
            message: "\"done\"".into(),
            ..PodScript::default()
        },
    );
    // The first delivery's host goes away mid-call (its future is dropped).
    let first = tokio::time::timeout(
        Duration::from_millis(300),
        s.worker
            .handle(request("run-8", json!({"image": "slow:1"}))),
    )
    .await;
    assert!(first.is_err(), "the first delivery was cut off");
    let mut again = request("run-8", json!({"image": "slow:1"}));
    again.attempt = 2;
    let out = s.call(again).await.unwrap();
    assert_eq!(out.json, Some(json!("done")));
    assert_eq!(
        s.sim.created().len(),
        1,
        "one Pod for the call, adopted by attempt 2"
    );
}

#[tokio::test]
async fn a_namespace_outside_the_allow_list_is_refused_before_any_pod() {
    let s = setup_with(hops_k8s::K8sConfig {
        allowed_namespaces: vec!["builds".into()],
        ..test_config()
    })
    .await;
    let error = rejected(
        s.call(request(
            "run-9",
            json!({"image": "a:1", "namespace": "kube-system"}),
        ))
        .await,
    );
    assert!(
        error.contains("namespace `kube-system` is not one this host may use (it may use default, builds); add it with --k8s-allow-namespace kube-system"),
        "{error}"
    );
    assert!(s.sim.created().is_empty());
    let out = s
        .call(request(
            "run-10",
            json!({"image": "a:1", "namespace": "builds"}),
        ))
        .await;
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(
        s.sim.created(),
        vec![format!("builds/{}", s.only_pod().metadata.name.unwrap())]
    );
}

#[tokio::test]
async fn bad_inputs_are_errored_results_naming_the_field() {
    let s = setup().await;
    let error = rejected(
        s.call(request("run-11", json!({"image": "a:1", "cpus": "2"})))
            .await,
    );
    assert!(error.contains("k8s_run: unknown input `cpus`"), "{error}");
    let error = rejected(s.call(request("run-12", json!({"command": ["ls"]}))).await);
    assert!(error.contains("input `image` is required"), "{error}");
    assert!(s.sim.created().is_empty());
}

#[tokio::test]
async fn timeout_skip_cleanup_and_root() {
    let s = setup_with(hops_k8s::K8sConfig {
        allow_root: true,
        ..test_config()
    })
    .await;
    s.sim.script(
        "forever:1",
        PodScript {
            run: Duration::from_secs(60),
            ..PodScript::default()
        },
    );
    let error = rejected(
        s.call(request(
            "run-13",
            json!({"image": "forever:1", "timeout": "1s", "skip_cleanup": true}),
        ))
        .await,
    );
    assert!(
        error.contains("ran past its timeout of 1s: Kubernetes stopped it"),
        "{error}"
    );
    let pod = s.only_pod();
    let spec = pod.spec.clone().unwrap();
    assert_eq!(spec.active_deadline_seconds, Some(1));
    assert!(
        spec.security_context.is_none(),
        "root allowed by the host's config"
    );
    assert_eq!(pod.metadata.labels.unwrap()[SKIP_CLEANUP_LABEL], "true");
    s.worker.result_stored("run-13", "build-k8s_run").await;
    assert_eq!(s.sim.pods().len(), 1, "skip_cleanup keeps the Pod");
}
