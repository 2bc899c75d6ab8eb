//! The wit-bindgen bindings of `../wit` (package `hops:app@0.1.0`).
//!
//! The imports (log, config, events, types, wasi:http) are generated once here; the three
//! export worlds are generated in their own modules and reuse them through `with`, so a
//! plugin sees one `Call`, one `Output` and one `CallError` whichever world it targets.
//! World `app` needs no bindings of its own: `export_app!` expands to both export macros, and
//! the component gets the union of the two worlds. (wit-bindgen tests this cross-crate
//! pattern: only the exports a plugin actually uses end up required of its component.)

#![allow(missing_docs, clippy::all)]

wit_bindgen::generate!({
    path: "../wit",
    world: "hops:app/imports",
    runtime_path: "hops_sdk::wit_bindgen::rt",
    generate_all,
    // `types` holds records used only by exports (call, output, ...); generate them here
    // anyway so the export worlds below can point at them.
    generate_unused_types: true,
});

/// Bindings of world `worker`; `export_worker!` comes from here.
pub mod worker {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hops:app/worker-app",
        runtime_path: "hops_sdk::wit_bindgen::rt",
        with: {
            "hops:app/types@0.1.0": crate::bindings::hops::app::types,
            "hops:app/log@0.1.0": crate::bindings::hops::app::log,
            "hops:app/config@0.1.0": crate::bindings::hops::app::config,
            "hops:app/events@0.1.0": crate::bindings::hops::app::events,
            "wasi:http/types@0.2.12": crate::bindings::wasi::http::types,
            "wasi:http/outgoing-handler@0.2.12": crate::bindings::wasi::http::outgoing_handler,
            "wasi:io/error@0.2.12": crate::bindings::wasi::io::error,
            "wasi:io/poll@0.2.12": crate::bindings::wasi::io::poll,
            "wasi:io/streams@0.2.12": crate::bindings::wasi::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": crate::bindings::wasi::clocks::monotonic_clock,
        },
        pub_export_macro: true,
        export_macro_name: "export_worker",
        default_bindings_module: "hops_sdk::bindings::worker",
    });
}

/// Bindings of world `listener`; `export_listener!` comes from here.
pub mod listener {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hops:app/listener-app",
        runtime_path: "hops_sdk::wit_bindgen::rt",
        with: {
            "hops:app/types@0.1.0": crate::bindings::hops::app::types,
            "hops:app/log@0.1.0": crate::bindings::hops::app::log,
            "hops:app/config@0.1.0": crate::bindings::hops::app::config,
            "hops:app/events@0.1.0": crate::bindings::hops::app::events,
            "wasi:http/types@0.2.12": crate::bindings::wasi::http::types,
            "wasi:http/outgoing-handler@0.2.12": crate::bindings::wasi::http::outgoing_handler,
            "wasi:io/error@0.2.12": crate::bindings::wasi::io::error,
            "wasi:io/poll@0.2.12": crate::bindings::wasi::io::poll,
            "wasi:io/streams@0.2.12": crate::bindings::wasi::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": crate::bindings::wasi::clocks::monotonic_clock,
        },
        pub_export_macro: true,
        export_macro_name: "export_listener",
        default_bindings_module: "hops_sdk::bindings::listener",
    });
}
