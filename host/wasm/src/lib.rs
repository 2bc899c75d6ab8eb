//! hops-wasm (work in progress).
