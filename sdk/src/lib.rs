//! hops-sdk (work in progress).
