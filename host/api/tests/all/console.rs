//! The web console's files and `GET /api/problems`.

use serde_json::json;

use crate::support::{get, http, start_with, token_config};

#[tokio::test]
async fn every_console_path_serves_the_page_without_a_token_and_with_a_strict_policy() {
    let server = start_with(token_config("s3cret")).await;
    for path in [
        "/",
        "/tasks",
        "/tasks/deploy?service=billing",
        "/runs?status=errored",
        "/runs/r-1",
        "/runs/r-1/replay",
        "/inputs",
        "/apps",
        "/problems",
    ] {
        let response = http().get(server.at(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(r#"<script src="/console/console.js" defer>"#),
            "{path}"
        );
        // The page is the same for everyone: the data comes from the API, with the token.
        assert!(!page.contains("r-1"), "{path}");
    }
}

#[tokio::test]
async fn the_script_and_styles_are_served_with_their_types_and_revalidated() {
    let server = start_with(token_config("s3cret")).await;
    for (path, kind) in [
        ("/console/console.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ] {
        let response = http().get(server.at(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], kind);
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let tag = response.headers()["etag"].clone();
        let again = http()
            .get(server.at(path))
            .header("if-none-match", tag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    let (status, body) = get(&server, "/console/nope.js").await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().unwrap().contains("no such route"));
}

#[tokio::test]
async fn the_console_pages_take_no_posts() {
    let server = start_with(token_config("s3cret")).await;
    let response = http()
        .post(server.at("/tasks/deploy"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn problems_need_the_token_and_list_what_does_not_serve() {
    let server = start_with(token_config("s3cret")).await;
    let response = http().get(server.at("/api/problems")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = http()
        .get(server.at("/api/problems"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    // The fake host has no pipeline store and one ready app.
    assert_eq!(body, json!({"pipelines": null, "apps": []}));
}
