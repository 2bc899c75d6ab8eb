//! The test apps of `plugins/`, built for `wasm32-wasip2` by this crate's build script,
//! and the example apps in other languages: `PYECHO` (`sdk/python/examples/pyecho`, built
//! with componentize-py) and `JSECHO` (`sdk/js/examples/jsecho`, built with componentize-js).
//! Building those needs `componentize-py` on `PATH` and `npm ci` run in `sdk/js`
//! (`scripts/setup.sh` does both); the build fails with that advice when they are missing.
//!
//! Each app `<name>` is available as a constant holding the absolute path of
//! `target/plugins/<name>.wasm`:
//!
//! ```
//! let bytes = std::fs::read(hops_test_plugins::ECHO);
//! # let _ = bytes;
//! assert!(hops_test_plugins::ALL.iter().any(|(name, _)| *name == "echo"));
//! ```
//!
//! Set `HOPS_SKIP_PLUGIN_BUILD=1` to skip the nested build (the constants still exist, the
//! files may be stale or missing).

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
