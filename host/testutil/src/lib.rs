//! hops-testutil (work in progress).
