//! hops-bus (work in progress).
