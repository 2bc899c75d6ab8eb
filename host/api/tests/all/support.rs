//! A fake host served in the test's runtime, and a raw HTTP client.

use std::sync::Arc;

use hops_api::ApiConfig;
use hops_api::testing::FakeHost;
use serde_json::Value;

pub struct Server {
    pub host: Arc<FakeHost>,
    pub url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

pub async fn start() -> Server {
    start_with(ApiConfig::default()).await
}

pub async fn start_with(config: ApiConfig) -> Server {
    let host = Arc::new(FakeHost::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = hops_api::router(host.clone(), config);
    tokio::spawn(hops_api::serve(listener, app, async move {
        let _ = stopped.await;
    }));
    Server {
        host,
        url,
        _stop: stop,
    }
}

/// A plain client that ignores any proxy from the environment.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Status and JSON body of a response.
pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text:?}"));
    (status, value)
}

pub async fn get(server: &Server, path: &str) -> (u16, Value) {
    json(http().get(server.at(path)).send().await.unwrap()).await
}

pub async fn post(server: &Server, path: &str, body: &'static str) -> (u16, Value) {
    json(
        http()
            .post(server.at(path))
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub fn token_config(token: &str) -> ApiConfig {
    ApiConfig {
        token: Some(token.to_owned()),
        ..ApiConfig::default()
    }
}
