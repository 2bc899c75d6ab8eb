//! [`ApiClient`]: a typed HTTP client for the API, used by the `hops` CLI.

mod error;

pub use error::ClientError;

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{
    Accepted, Answered, ErrorBody, FieldErrors, InputView, PurgeReport, Readiness, ReplayOutcome,
    RunQuery, RunSummary, RunView, TaskInfo,
};

/// The address `hops up` serves the API on by default.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8916";

/// How long one request may take before the client gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take; a host that is up answers in well under a second.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client for a running host's HTTP API.
///
/// ```no_run
/// # async fn demo() -> Result<(), hops_api::ClientError> {
/// let client = hops_api::ApiClient::new("http://127.0.0.1:8916", None)?;
/// for run in client.list_runs(10).await? {
///     println!("{} {}", run.run_id, run.status.as_str());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    /// The address as given, for messages.
    shown: String,
    token: Option<String>,
}

impl ApiClient {
    /// A client for the host at `base_url` (e.g. `http://127.0.0.1:8916`, or a URL with a path
    /// prefix behind a proxy). `token` is sent as a bearer token when set.
    ///
    /// # Errors
    ///
    /// [`ClientError::BadUrl`] when `base_url` is not an `http(s)://` URL.
    pub fn new(base_url: &str, token: Option<String>) -> Result<Self, ClientError> {
        let shown = base_url.trim().trim_end_matches('/').to_owned();
        let bad = |reason: String| ClientError::BadUrl {
            url: base_url.to_owned(),
            reason,
        };
        let base = Url::parse(&shown).map_err(|err| bad(err.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad("the scheme must be http or https".to_owned()));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("hops/", env!("CARGO_PKG_VERSION")));
        // A proxy from the environment would swallow requests to the local host.
        if is_loopback(&base) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|err| bad(format!("cannot build an HTTP client: {err}")))?;
        Ok(ApiClient {
            http,
            base,
            shown,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// The API address, as given (without a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.shown
    }

    /// `GET /health`: Ok when the process answers.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unreachable`] when nothing answers; a status error otherwise.
    pub async fn health(&self) -> Result<(), ClientError> {
        let response = self.send(self.http.get(self.url(&["health"]))).await?;
        check(response, &self.shown).await.map(drop)
    }

    /// `GET /ready`: whether the host can take work, and why not.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unreachable`] when nothing answers.
    pub async fn ready(&self) -> Result<Readiness, ClientError> {
        let url = self.url(&["ready"]);
        let response = self.send(self.http.get(url.clone())).await?;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            return decode(response, &url).await;
        }
        let response = check(response, &self.shown).await?;
        decode(response, &url).await
    }

    /// `POST /api/events`: publishes `event` as a new run; `dedup` is sent as `Idempotency-Key`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Invalid`] when the host rejects the event, or a transport/status error.
    pub async fn send_event(
        &self,
        event: &Value,
        dedup: Option<&str>,
    ) -> Result<Accepted, ClientError> {
        let mut request = self.request(Method::POST, &["api", "events"]).json(event);
        if let Some(key) = dedup {
            request = request.header(crate::IDEMPOTENCY_KEY, key);
        }
        self.call(request, &["api", "events"]).await
    }

    /// `GET /api/tasks`.
    ///
    /// # Errors
    ///
    /// A transport or status error.
    pub async fn tasks(&self) -> Result<Vec<TaskInfo>, ClientError> {
        let path = ["api", "tasks"];
        self.call(self.request(Method::GET, &path), &path).await
    }

    /// `POST /api/tasks/{task}/runs` with `params`.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown task, [`ClientError::Invalid`] with field errors
    /// for bad params, or a transport/status error.
    pub async fn run_task(
        &self,
        task: &str,
        params: &Map<String, Value>,
    ) -> Result<Accepted, ClientError> {
        let path = ["api", "tasks", task, "runs"];
        self.call(self.request(Method::POST, &path).json(params), &path)
            .await
    }

    /// `GET /api/runs` with filters and a page cursor (`query.before`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Invalid`] for a bad filter, or a transport/status error.
    pub async fn find_runs(&self, query: &RunQuery) -> Result<Vec<RunSummary>, ClientError> {
        let path = ["api", "runs"];
        let mut params = vec![("limit", query.limit.to_string())];
        if let Some(status) = query.status {
            params.push(("status", status.as_str().to_owned()));
        }
        if let Some(task) = &query.task {
            params.push(("task", task.clone()));
        }
        if let Some(before) = query.before {
            params.push(("before", before.to_string()));
        }
        self.call(self.request(Method::GET, &path).query(&params), &path)
            .await
    }

    /// `GET /api/inputs`: the calls waiting for a person's answer, oldest first.
    ///
    /// # Errors
    ///
    /// A transport or status error.
    pub async fn inputs(&self) -> Result<Vec<InputView>, ClientError> {
        let path = ["api", "inputs"];
        self.call(self.request(Method::GET, &path), &path).await
    }

    /// `POST /api/runs/{run}/inputs/{call}` with `values`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Invalid`] with field errors for values that do not fit,
    /// [`ClientError::NotFound`] when no such input is open, [`ClientError::Conflict`] when it
    /// was answered (or expired) already, or a transport/status error.
    pub async fn answer_input(
        &self,
        run_id: &str,
        call: &str,
        values: &Map<String, Value>,
    ) -> Result<Answered, ClientError> {
        let path = ["api", "runs", run_id, "inputs", call];
        self.call(self.request(Method::POST, &path).json(values), &path)
            .await
    }

    /// `GET /api/runs?limit=N`: most recent runs first.
    ///
    /// # Errors
    ///
    /// A transport or status error.
    pub async fn list_runs(&self, limit: usize) -> Result<Vec<RunSummary>, ClientError> {
        let path = ["api", "runs"];
        let request = self
            .request(Method::GET, &path)
            .query(&[("limit", limit.to_string())]);
        self.call(request, &path).await
    }

    /// `GET /api/runs/{id}`: one run's timeline.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] when there is no such run, or a transport/status error.
    pub async fn run(&self, run_id: &str) -> Result<RunView, ClientError> {
        let path = ["api", "runs", run_id];
        self.call(self.request(Method::GET, &path), &path).await
    }

    /// `POST /api/runs/{id}/replay?dry_run=…`.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] when there is no such run, or a transport/status error.
    pub async fn replay(&self, run_id: &str, dry_run: bool) -> Result<ReplayOutcome, ClientError> {
        let path = ["api", "runs", run_id, "replay"];
        let request = self
            .request(Method::POST, &path)
            .query(&[("dry_run", dry_run.to_string())]);
        self.call(request, &path).await
    }

    /// `POST /api/runs/purge`: removes the runs that ended more than `older_than` ago.
    ///
    /// # Errors
    ///
    /// A transport or status error.
    pub async fn purge_runs(
        &self,
        older_than: std::time::Duration,
        dry_run: bool,
    ) -> Result<PurgeReport, ClientError> {
        let path = ["api", "runs", "purge"];
        let request = self.request(Method::POST, &path).query(&[
            ("older_than", age(older_than)),
            ("dry_run", dry_run.to_string()),
        ]);
        self.call(request, &path).await
    }

    /// `GET /api/apps`, as the host reports it.
    ///
    /// # Errors
    ///
    /// A transport or status error.
    pub async fn apps(&self) -> Result<Value, ClientError> {
        let path = ["api", "apps"];
        self.call(self.request(Method::GET, &path), &path).await
    }

    /// The URL of `segments` below the base, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let request = self.http.request(method, self.url(segments));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, ClientError> {
        request
            .send()
            .await
            .map_err(|err| ClientError::unreachable(&self.shown, &err, REQUEST_TIMEOUT))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        segments: &[&str],
    ) -> Result<T, ClientError> {
        let url = self.url(segments);
        let response = self.send(request).await?;
        let response = check(response, &self.shown).await?;
        decode(response, &url).await
    }
}

/// Turns a failure status into the matching [`ClientError`], with the server's message.
async fn check(response: Response, base: &str) -> Result<Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or_else(|_| {
        let text = text.trim();
        let message = if text.is_empty() || text.len() > 300 {
            status.canonical_reason().unwrap_or("error").to_lowercase()
        } else {
            text.to_owned()
        };
        ErrorBody {
            message,
            errors: FieldErrors::new(),
        }
    });
    let ErrorBody { message, errors } = body;
    Err(match status {
        StatusCode::UNAUTHORIZED => ClientError::Unauthorized {
            url: base.to_owned(),
            message,
        },
        StatusCode::NOT_FOUND => ClientError::NotFound { message },
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => {
            ClientError::Invalid { message, errors }
        }
        StatusCode::CONFLICT => ClientError::Conflict { message },
        StatusCode::SERVICE_UNAVAILABLE => ClientError::Unavailable { message },
        other => ClientError::Server {
            status: other.as_u16(),
            message,
        },
    })
}

async fn decode<T: DeserializeOwned>(response: Response, url: &Url) -> Result<T, ClientError> {
    let bytes = response.bytes().await.map_err(|err| ClientError::Decode {
        url: url.to_string(),
        reason: format!("could not read the body: {err}"),
    })?;
    serde_json::from_slice(&bytes).map_err(|err| ClientError::Decode {
        url: url.to_string(),
        reason: err.to_string(),
    })
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A duration as `older_than` takes it: whole seconds, or milliseconds below a second's
/// precision.
fn age(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
