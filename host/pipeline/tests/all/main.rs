//! Integration tests of the pipeline language over `testdata/pipelines` and the spec's cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod acceptance;
mod compat;
mod evaluation;
mod expressions;
mod fixtures;
mod robustness;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hops_pipeline::PipelineSet;

/// `testdata/pipelines` in the repository.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pipelines")
}

/// A pipeline set from `(path, text)` pairs.
pub fn set_of(files: &[(&str, &str)]) -> PipelineSet {
    let files: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec()))
        .collect();
    PipelineSet::from_files(files)
}

/// Error diagnostics as `file:line: summary` lines.
pub fn errors(set: &PipelineSet) -> Vec<String> {
    set.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            format!(
                "{}:{}: {}",
                d.file,
                d.start.map_or(0, |p| p.line),
                d.summary
            )
        })
        .collect()
}
