//! The Hops host at run time.
//!
//! The runner evaluates pipelines over each run's messages and dispatches calls; worker loops
//! hand calls to apps (WebAssembly components or native workers) and publish their results;
//! schedules start runs on time; listener polls tick listener apps; the pipeline store
//! hot-reloads pipelines and keeps every version runs are pinned to. [`Host`] assembles them
//! over one bus connection for the CLI and for tests.

pub mod api;
pub mod bus_adapters;
pub mod call_headers;
pub mod drain;
pub mod evaluation;
mod give_up;
pub mod host;
pub mod inputs;
pub mod listeners;
mod local;
pub mod metrics;
/// Task parameters; checked in `hops-pipeline` beside [`hops_pipeline::Param`].
pub use hops_pipeline::params;
pub mod pipelines;
pub mod presence;
pub mod rate;
pub mod recent_errors;
pub mod run_record;
pub mod runner;
pub mod schedules;
pub mod views;
pub mod workers;

pub use api::{AppListing, HostServices};
pub use bus_adapters::{BusEvents, BusVersions};
pub use drain::{DrainOptions, DrainReport};
pub use evaluation::EvalSettings;
pub use host::{Host, HostConfig, Roles};
pub use metrics::Metrics;
pub use pipelines::{PipelineStore, ReloadHook, VersionStore};
pub use presence::{AppLoad, AppLoading};
pub use rate::RunRateLimit;
pub use runner::RunnerOptions;
