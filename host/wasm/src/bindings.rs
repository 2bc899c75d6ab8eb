//! The host side of `hops:app@0.1.0`, generated from `../../wit` by `bindgen!`.
//!
//! World `app` is bound because it names both exports; a component that exports only one of
//! them is still served: callers look the export up with the per-interface `GuestIndices`
//! (as Spin's `HandlerType` does) instead of requiring the whole world.

#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "hops:app/app",
    anyhow: true,
    // No `tracing` flag: it would log event payloads and log messages at trace level.
    imports: {
        "hops:app/log": async,
        "hops:app/config": async,
        "hops:app/events": async | trappable,
        default: async | trappable,
    },
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
    require_store_data_send: true,
});
