//! `GET /api/inputs` and `POST /api/runs/{id}/inputs/{call}`, with who answered recorded from
//! the authentication, and every refusal.

use hops_api::testing::Recorded;
use hops_api::{ApiClient, ApiConfig, ClientError};
use serde_json::{Map, json};

use crate::support::{get, http, json, post, start, start_with, token_config};

fn ask(server: &crate::support::Server) -> String {
    server
        .host
        .start_run(json!({"ask": "Deploy?", "hops": {"source": "t", "event": "deploy"}}))
        .unwrap()
}

#[tokio::test]
async fn open_inputs_are_listed_and_answered_once() {
    let server = start().await;
    assert_eq!(get(&server, "/api/inputs").await, (200, json!([])));
    let run = ask(&server);
    let (status, listed) = get(&server, "/api/inputs").await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["run_id"], run.as_str());
    assert_eq!(listed[0]["call"], "approval");
    assert_eq!(listed[0]["prompt"], "Deploy?");
    assert_eq!(listed[0]["params"][0]["type"], "bool");
    assert_eq!(listed[0]["deadline_at"], json!(null));

    let path = format!("/api/runs/{run}/inputs/approval");
    let (status, body) = post(&server, &path, r#"{"approve": "yes", "colour": 1}"#).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"]["approve"], json!(["Should be a boolean"]));
    assert!(
        body["errors"]["colour"][0]
            .as_str()
            .unwrap()
            .starts_with("Unknown parameter")
    );
    let (status, body) = post(&server, &path, "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"]["approve"], json!(["Required"]));
    let (status, body) = post(&server, &path, "[true]").await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("must be a JSON object"),
        "{body}"
    );
    let (status, body) = post(&server, &path, "{nope").await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );

    let (status, body) = post(&server, &path, r#"{"approve": true}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"run_id": run, "call": "approval", "answer": {"approve": true, "reason": "none"}, "answered_by": "local"})
    );
    let (status, body) = post(&server, &path, r#"{"approve": false}"#).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already answered")
    );
    assert_eq!(get(&server, "/api/inputs").await, (200, json!([])));

    let (status, _) = post(&server, &format!("/api/runs/{run}/inputs/other"), "{}").await;
    assert_eq!(status, 404);
    let (status, _) = post(&server, "/api/runs/no-such-run/inputs/approval", "{}").await;
    assert_eq!(status, 404);
    let (status, _) = get(&server, &path).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn an_oversized_answer_is_refused_with_the_limit() {
    let server = start_with(ApiConfig {
        body_limit: 64,
        ..ApiConfig::default()
    })
    .await;
    let run = ask(&server);
    let big = format!(r#"{{"approve": true, "reason": "{}"}}"#, "x".repeat(200));
    let response = http()
        .post(server.at(&format!("/api/runs/{run}/inputs/approval")))
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 413);
    assert!(
        body["message"].as_str().unwrap().contains("64 bytes"),
        "{body}"
    );
}

#[tokio::test]
async fn answering_needs_the_token_and_records_who_answered() {
    let server = start_with(token_config("s3cret")).await;
    let run = ask(&server);
    let path = format!("/api/runs/{run}/inputs/approval");
    let refused = http()
        .post(server.at(&path))
        .body(r#"{"approve": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        http()
            .get(server.at("/api/inputs"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(server.host.recorded().is_empty());

    let client = ApiClient::new(&server.url, Some("s3cret".to_owned())).unwrap();
    let open = client.inputs().await.unwrap();
    assert_eq!(open.len(), 1);
    let mut values = Map::new();
    values.insert("approve".to_owned(), json!(true));
    let answered = client
        .answer_input(&run, "approval", &values)
        .await
        .unwrap();
    assert_eq!(answered.answered_by, "token");
    let again = client
        .answer_input(&run, "approval", &values)
        .await
        .unwrap_err();
    assert!(matches!(again, ClientError::Conflict { .. }), "{again:?}");
    assert_eq!(again.status(), Some(409));
}

#[tokio::test]
async fn behind_an_auth_proxy_the_proxy_user_answers() {
    let server = start_with(ApiConfig {
        trusted_user_header: Some("x-forwarded-user".to_owned()),
        ..ApiConfig::default()
    })
    .await;
    let run = ask(&server);
    let path = format!("/api/runs/{run}/inputs/approval");
    let refused = http()
        .post(server.at(&path))
        .body(r#"{"approve": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let response = http()
        .post(server.at(&path))
        .header("x-forwarded-user", " alice@example.com ")
        .body(r#"{"approve": false, "reason": "not today"}"#)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answered_by"], "alice@example.com");
    assert!(server.host.recorded().iter().any(|r| matches!(
        r,
        Recorded::Answer { by, .. } if by == "alice@example.com"
    )));
}
