//! The k8s runner against the Kubernetes API simulator (no cluster runs on the build
//! machines): one integration-test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod host;
mod orphans;
mod rbac;
mod real_cluster;
mod scenarios;
mod support;
