//! hops-pipeline (work in progress).
