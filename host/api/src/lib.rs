//! The Hops HTTP interface.
//!
//! [`router`] builds the axum app over any [`HostApi`] (the runtime implements it): health and
//! readiness, the JSON API for tasks, runs, events, replays and apps, and `/listen/<app>/…`
//! webhooks handed to listener apps. [`ApiClient`] is the typed client the `hops` CLI uses.
//!
//! | route | answer |
//! |---|---|
//! | `GET /`, `/tasks[/{name}]`, `/runs[/{id}[/replay]]`, `/inputs`, `/apps`, `/problems` | the web console (one page; it reads the API) |
//! | `GET\|HEAD /health` | 200 `ok` |
//! | `GET /ready` | 200 `{"ready": true}` / 503 `{"ready": false, "reason": …}` |
//! | `POST /api/events` | 202 [`Accepted`]; `Idempotency-Key` header de-duplicates |
//! | `GET /api/tasks` | the tasks |
//! | `POST /api/tasks/{name}/runs` | 202 [`Accepted`]; 404 unknown task; 400 field errors |
//! | `GET /api/runs?limit=N&status=…&task=…&before=SEQ` | [`RunSummary`] list, newest first (default 20, max 500); `before` pages |
//! | `GET /api/runs/{id}` | [`RunView`] |
//! | `GET /api/runs/{id}/live` | Server-Sent Events: `run` (a [`RunView`]) on every change, `end` once it finished |
//! | `POST /api/runs/{id}/replay?dry_run=…` | [`ReplayOutcome`] |
//! | `GET /api/inputs` | [`InputView`] list: calls waiting for a person's answer |
//! | `POST /api/runs/{id}/inputs/{call}` | [`Answered`]; 400 field errors; 404 no such open input; 409 already answered |
//! | `GET /api/apps` | the app listing (also at `/api/plugins`), with each app's recent errors |
//! | `GET /api/problems` | [`Problems`]: diagnostics of the last pipeline load, apps that do not serve |
//! | `ANY /listen/{app}/…` | the listener's answer, passed through |
//!
//! Errors are `{"message": …, "errors": {field: [problem]}}` with 400/401/404/409/413/500/503.
//! With [`ApiConfig::token`] set, `/api/*` needs `Authorization: Bearer <token>`.
//!
//! ```no_run
//! # async fn demo(host: std::sync::Arc<dyn hops_api::HostApi>) -> std::io::Result<()> {
//! let app = hops_api::router(host, hops_api::ApiConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8916").await?;
//! hops_api::serve(listener, app, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod auth;
mod client;
mod config;
mod console;
mod csrf;
mod dto;
mod error;
mod host;
mod listen;
mod openapi;
mod problems;
mod router;
mod routes;
mod server;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod testing;

pub use auth::UNAUTHORIZED_MESSAGE;
pub use client::{ApiClient, ClientError, DEFAULT_API_URL};
pub use config::{ApiConfig, DEFAULT_BODY_LIMIT};
pub use csrf::CROSS_SITE_MESSAGE;
pub use dto::{
    Accepted, Answered, CallStatus, CallView, InputView, ParamInfo, ParamKind, PipelineView,
    PlannedCall, PurgeReport, Readiness, ReplayOutcome, RunQuery, RunStatus, RunSummary, RunView,
    TaskInfo,
};
pub use error::{ApiError, ErrorBody, FieldErrors};
pub use host::HostApi;
pub use problems::{AppProblem, DiagnosticView, PipelineLoad, Problems};
pub use router::router;
pub use routes::events::{IDEMPOTENCY_KEY, STARTED_BY};
pub use routes::runs::{DEFAULT_RUNS_LIMIT, MAX_RUNS_LIMIT};
pub use server::{ServeLimits, serve, serve_with};
