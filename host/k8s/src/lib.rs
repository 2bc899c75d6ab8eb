//! The native Kubernetes container runner: app `k8s`, handler `run`.
//!
//! `call k8s_run` runs one Pod per call. The Pod's name comes from the run and the call, so a
//! redelivered call (its host died mid-call) adopts the Pod the first delivery made —
//! `409 AlreadyExists` means adopt — and exactly one result is stored. Completion is seen by
//! a watch on the Pod (re-listed after a dropped stream or `410 Gone`); the container's exit
//! code decides completed or errored; the result is its termination message (JSON when it
//! parses) with the end of its log in `body`. The Pod is deleted once the result is stored,
//! and Pods of finished calls a crash left behind are collected at start-up.
//!
//! It sits behind the same [`hops_core::Worker`] trait as the wasm apps.

mod call;
pub mod config;
pub mod inputs;
mod logs;
pub mod pod;
pub mod rbac;
pub mod status;
mod wait;
mod worker;

pub use config::{Cluster, Discovery, DiscoveryError, K8sConfig, discover};
pub use worker::{APP, HANDLERS, K8sWorker, StoredResults};
