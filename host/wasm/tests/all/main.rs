//! Integration tests of hops-wasm against real components built by `hops-test-plugins`.
//! One test binary (wasmtime's `tests/all` layout) so wasmtime links once.

// Test helpers outside `#[test]` functions fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod calls;
mod github_app;
mod grants;
mod hardening;
mod harness;
mod hot;
mod http_app;
mod inspect;
mod listener;
mod polyglot;
