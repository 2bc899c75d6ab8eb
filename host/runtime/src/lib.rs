//! The Hops host at run time.
//!
//! The runner evaluates pipelines over each run's messages and dispatches calls; worker loops
//! hand calls to apps (WebAssembly components or native workers) and publish their results;
//! schedules start runs on time; the pipeline store hot-reloads pipelines and keeps every
//! version runs are pinned to. [`HostBuilder`] assembles a host for the CLI and for tests.

pub mod params;
pub mod pipelines;
pub mod schedules;
