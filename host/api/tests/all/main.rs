//! The HTTP API end to end: a fake host served on a loopback port, driven through real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod auth;
mod client;
mod console;
mod cross_site;
mod events;
mod health;
mod inputs;
mod limits;
mod listen;
mod live;
mod runs;
mod support;
mod tasks;
