//! `GET /api/tasks` and `POST /api/tasks/{name}/runs`.

use hops_api::testing::Recorded;
use serde_json::json;

use crate::support::{get, post, start};

#[tokio::test]
async fn lists_tasks_as_an_array_with_typed_params() {
    let server = start().await;
    let (status, tasks) = get(&server, "/api/tasks").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["deploy", "ping"]);
    let params = &tasks[0]["params"];
    assert_eq!(params[0]["name"], "service");
    assert_eq!(params[0]["type"], "string");
    assert_eq!(params[0]["required"], true);
    assert_eq!(params[1]["type"], "number");
    assert_eq!(params[1]["default"], 2);
    assert_eq!(tasks[1]["params"], json!([]));
}

#[tokio::test]
async fn runs_a_task_with_202_and_records_the_params() {
    let server = start().await;
    let (status, body) = post(
        &server,
        "/api/tasks/deploy/runs",
        r#"{"service": "billing", "dry_run": true}"#,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["duplicate"], false);
    assert_eq!(
        server.host.recorded(),
        vec![Recorded::RunTask {
            task: "deploy".into(),
            params: json!({"service": "billing", "dry_run": true})
                .as_object()
                .unwrap()
                .clone(),
        }]
    );
    // The same params twice: two runs (task runs are never de-duplicated).
    let (_, again) = post(
        &server,
        "/api/tasks/deploy/runs",
        r#"{"service": "billing"}"#,
    )
    .await;
    assert_ne!(again["run_id"], body["run_id"]);
}

#[tokio::test]
async fn an_empty_body_means_no_params() {
    let server = start().await;
    let (status, body) = post(&server, "/api/tasks/ping/runs", "").await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
async fn bad_params_are_400_with_field_errors() {
    let server = start().await;
    let (status, body) = post(
        &server,
        "/api/tasks/deploy/runs",
        r#"{"replicas": "three", "color": "red"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "invalid inputs for deploy");
    assert_eq!(
        body["errors"],
        json!({
            "color": ["Unknown parameter; known: service, replicas, dry_run, fail, notes"],
            "replicas": ["Should be a number"],
            "service": ["Required"],
        })
    );
    assert!(server.host.run_ids().is_empty());
}

#[tokio::test]
async fn params_that_are_not_an_object_are_400() {
    let server = start().await;
    for body in ["null", "[]", "3"] {
        let (status, answer) = post(&server, "/api/tasks/deploy/runs", body).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("the task parameters must be a JSON object"),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn an_unknown_task_is_404() {
    let server = start().await;
    let (status, body) = post(&server, "/api/tasks/nope/runs", "{}").await;
    assert_eq!(
        (status, body),
        (404, json!({"message": "no task named `nope`"}))
    );
}
