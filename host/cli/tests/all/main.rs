//! The `hops` binary, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod apps;
mod bench;
mod console;
mod deploy;
mod drain;
mod flood;
mod hardening;
mod http;
mod image;
mod in_process;
mod k8s;
mod new;
mod openapi;
mod remote;
mod security;
mod up;
mod validate;
