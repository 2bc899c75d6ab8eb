//! A small blocking HTTP client for tests that drive a running host through its API.

use std::time::{Duration, Instant};

use serde_json::Value;

/// Requests to one host's API, each run to completion on the client's own runtime.
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    api: String,
    /// Sent as `Authorization: Bearer …` when set.
    token: Option<String>,
}

impl Http {
    pub fn new(api: &str) -> Http {
        Http {
            runtime: tokio::runtime::Runtime::new().unwrap(),
            client: reqwest::Client::new(),
            api: api.to_owned(),
            token: None,
        }
    }

    /// A client that sends `token` as its bearer token.
    pub fn with_token(api: &str, token: &str) -> Http {
        Http {
            token: Some(token.to_owned()),
            ..Http::new(api)
        }
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        self.request("POST", path, headers, body)
    }

    /// `method path` with `headers` and `body` (and the token, if this client has one).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        self.runtime.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut request = self.authorized(
                self.client
                    .request(method, format!("{}{path}", self.api))
                    .body(body.to_owned()),
            );
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    }

    pub fn get_text(&self, path: &str) -> String {
        self.runtime.block_on(async {
            let response = self
                .authorized(self.client.get(format!("{}{path}", self.api)))
                .send()
                .await
                .unwrap();
            response.text().await.unwrap()
        })
    }

    pub fn get_json(&self, path: &str) -> Value {
        self.runtime.block_on(async {
            let response = self
                .authorized(self.client.get(format!("{}{path}", self.api)))
                .send()
                .await
                .unwrap();
            response.json().await.unwrap()
        })
    }

    pub fn wait_run(&self, run_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let view = self.get_json(&format!("/api/runs/{run_id}"));
            if view["status"] == "completed" || view["status"] == "errored" {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "run {run_id} did not finish: {view:#}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn run_count(&self) -> usize {
        self.get_json("/api/runs?limit=100")
            .as_array()
            .unwrap()
            .len()
    }

    /// Sends a source event; returns its run id.
    pub fn send_event(&self, event: &Value) -> String {
        let (status, body) = self.post(
            "/api/events",
            &[("content-type", "application/json")],
            &event.to_string(),
        );
        assert_eq!(status, 202, "{body}");
        let accepted: Value = serde_json::from_str(&body).unwrap();
        accepted["run_id"].as_str().unwrap().to_owned()
    }
}
