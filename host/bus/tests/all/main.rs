//! Integration tests of hops-bus against real nats-server processes (one per test, each on a
//! free loopback port with a temporary data directory).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod auth;
mod chained;
mod cluster;
mod common;
mod consumer;
mod local;
mod pinning;
mod publish;
mod read;
mod reconnect;
mod seen;
mod stream;
mod tls;
