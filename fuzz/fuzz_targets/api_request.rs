//! Any bytes as the body of a state-changing API request: the first byte picks the route, the
//! rest is the body. The router (auth, CSRF, body limits, JSON decoding, param checks) answers
//! every one with a status, never a panic, and a body that is JSON whenever it is an error.
#![no_main]

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{Request, header};
use hops_api::ApiConfig;
use hops_api::testing::FakeHost;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

const ROUTES: &[&str] = &[
    "/api/events",
    "/api/tasks/deploy/runs",
    "/api/tasks/ping/runs",
    "/api/tasks/%2e%2e/runs",
    "/api/runs/purge?older_than=1h",
    "/api/runs/purge",
    "/api/runs/r-1/replay",
    "/api/runs/r-1/inputs/approval",
    "/listen/github/",
];

fuzz_target!(|bytes: &[u8]| {
    let Some((&pick, body)) = bytes.split_first() else {
        return;
    };
    let path = ROUTES[usize::from(pick) % ROUTES.len()];
    let with_token = pick & 0x80 != 0;
    let config = ApiConfig {
        token: with_token.then(|| "fuzz-token".to_owned()),
        ..ApiConfig::default()
    };
    let app = hops_api::router(Arc::new(FakeHost::new()), config);
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if pick & 0x40 != 0 {
        request = request.header(header::AUTHORIZATION, "Bearer fuzz-token");
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else {
        return;
    };
    RUNTIME.block_on(async {
        let response = app.oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        assert!(!status.is_server_error() || status.as_u16() == 503, "{path}: {status}");
        if status.is_client_error() && path.starts_with("/api/") {
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("a body");
            assert!(
                serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                "{path}: {status} answered with a non-JSON body: {:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    });
});
