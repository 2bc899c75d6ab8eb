//! Integration tests of the runtime against real nats-server processes, with native test
//! workers standing in for apps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod harness;

mod bad_input;
mod chaos;
mod cluster;
mod e2e;
mod inputs;
mod limits;
mod local_dispatch;
mod metrics;
mod problems;
mod resilience;
mod retention;
mod schedules;
mod shapes;
