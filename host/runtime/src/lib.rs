//! hops-runtime (work in progress).
