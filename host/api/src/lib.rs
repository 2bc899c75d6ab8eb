//! hops-api (work in progress).
