//! Every case under `testdata/pipelines/valid` loads clean; every case under
//! `testdata/pipelines/invalid` yields exactly the diagnostics in its `.expected` file.

use hops_pipeline::{PipelineSet, Severity};

use crate::testdata;

fn cases(kind: &str) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(testdata().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no {kind} fixtures");
    dirs
}

#[test]
fn valid_fixtures_load_without_diagnostics() {
    for dir in cases("valid") {
        let set = PipelineSet::load_dir(&dir).unwrap();
        let rendered: Vec<String> = set.diagnostics.iter().map(|d| d.one_line()).collect();
        assert!(rendered.is_empty(), "{}: {rendered:#?}", dir.display());
        assert!(
            !set.ons.is_empty() || !set.tasks.is_empty(),
            "{}: nothing loaded",
            dir.display()
        );
    }
}

#[test]
fn invalid_fixtures_report_expected_diagnostics() {
    for dir in cases("invalid") {
        let expected_path = dir.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        let set = PipelineSet::load_dir(&dir).unwrap();
        let actual: Vec<String> = set
            .diagnostics
            .iter()
            .map(|d| {
                let severity = if d.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                format!(
                    "{}:{}: {severity}: {}",
                    d.file,
                    d.start.map_or(0, |p| p.line),
                    d.summary
                )
            })
            .collect();
        let expected: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            actual,
            expected,
            "{}\nfull diagnostics: {:#?}",
            dir.display(),
            set.diagnostics
                .iter()
                .map(|d| d.one_line())
                .collect::<Vec<_>>()
        );
        // Every diagnostic is located and explained.
        for d in &set.diagnostics {
            assert!(
                d.start.is_some() && !d.file.is_empty(),
                "{}: unlocated {d:?}",
                dir.display()
            );
            assert!(!d.detail.is_empty(), "{}: no detail {d:?}", dir.display());
        }
    }
}
