//! Write [Hops](https://github.com/hops-rs/hops) apps in Rust.
//!
//! An app is a WebAssembly component built for `wasm32-wasip2` against the `hops:app@0.1.0`
//! contract (`wit/` in the Hops repository). A pipeline's `call "<app>_<handler>"` runs the
//! app's [`Worker::handle`]; listeners ([`Listener`]) turn webhooks and polls into runs.
//! This crate is the only dependency a Rust app needs: the bindings, the export macros, and
//! helpers for inputs, outputs, errors, config, logging, events and outbound HTTP.
//!
//! # A worker
//!
//! ```
//! use hops_sdk::{Call, Output, Result, Worker, route};
//! use serde::Deserialize;
//!
//! struct Greeter;
//!
//! impl Worker for Greeter {
//!     fn handle(call: Call) -> Result<Output> {
//!         route(call, &[("hello", hello)])
//!     }
//! }
//!
//! #[derive(Deserialize)]
//! struct Hello { name: String }
//!
//! fn hello(call: Call) -> Result<Output> {
//!     let input: Hello = call.inputs()?;
//!     Output::json(&serde_json::json!({ "greeting": format!("Hello, {}!", input.name) }))
//! }
//!
//! hops_sdk::export_worker!(Greeter);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (crate type `cdylib`) and drop
//! `target/wasm32-wasip2/release/<crate>.wasm` into the plugins directory as `<app>.wasm`.
//!
//! # Errors
//!
//! Handlers return [`Result`], whose error is [`anyhow::Error`]: `?` works on any error, and
//! `.context(..)` adds to the message. Every error becomes an errored result of the call
//! (`reject`: no redelivery), except one made with [`retry`] (or [`CallError::retry`]), which
//! asks the host to deliver the call again after a backoff.
//!
//! # Outside the component
//!
//! The crate also compiles for the host target so that an app's pure logic can have ordinary
//! unit tests; the host imports ([`log`], [`config`], [`events`], [`http`]) are only usable
//! inside a component and panic elsewhere.

// Lets the generated code name this crate the same way from inside and outside it.
extern crate self as hops_sdk;

#[doc(hidden)]
pub mod bindings;
mod call;
mod guest;
mod host;
pub mod http;

/// The runtime behind the generated bindings; plugins need not depend on wit-bindgen.
#[doc(hidden)]
pub use wit_bindgen;

pub use ::anyhow::{self, Context, anyhow, bail, ensure};
pub use bindings::listener::export_listener;
pub use bindings::worker::export_worker;
pub use call::{reject, retry};
pub use guest::{Handler, Listener, Worker, route};
pub use host::{config, events, log};
pub use {serde, serde_json};

pub use bindings::hops::app::events::{Emitted, SourceEvent};
pub use bindings::hops::app::log::Level;
pub use bindings::hops::app::types::{
    Call, CallError, Header, Output, RetryRequest, WebhookRequest, WebhookResponse,
};

/// The error of a handler: any error, see [the crate docs](crate#errors).
pub type Error = anyhow::Error;

/// The result of a handler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything an app usually needs, for `use hops_sdk::prelude::*`.
pub mod prelude {
    pub use crate::{
        Call, CallError, Context, Listener, Output, Result, SourceEvent, WebhookRequest,
        WebhookResponse, Worker, bail, config, events, log, reject, retry, route,
    };
}
