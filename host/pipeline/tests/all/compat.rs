//! The original engine's own pipelines — its testdata, the inline configs of its tests and
//! every HCL example of its docs — loaded as the original loads them: each case's
//! `expect.txt` says on its first line whether the original finds it `valid` or `invalid`.
//!
//! The cases are the original project's files and live outside this repository
//! (`../shared/compat/cases`, or `HOPS_COMPAT_CASES`); without them this test says so and
//! passes. The few deliberate differences are listed in [`DELIBERATE`] with their reason.

use std::path::PathBuf;

use hops_pipeline::PipelineSet;

/// Cases where Hops decides differently on purpose, with the reason.
const DELIBERATE: &[(&str, &str)] = &[
    (
        "docs_fn_flatten",
        "flatten is called with three arguments: the original loads it and fails every run; \
         Hops reports the wrong number of arguments when the pipelines load (DESIGN §3, spec §9.7)",
    ),
    (
        "docs_http_01_call_do",
        "the inputs read `hello`, which no pipeline defines: the original fails every run; \
         Hops reports the unknown variable when the pipelines load",
    ),
    (
        "probe_unknown_function",
        "an unknown function fails every run in the original; Hops reports it when the \
         pipelines load",
    ),
];

fn cases_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("HOPS_COMPAT_CASES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/cases"),
    };
    dir.is_dir().then_some(dir)
}

#[test]
fn the_original_engines_pipelines_load_as_they_did() {
    let Some(dir) = cases_dir() else {
        eprintln!(
            "compat: no cases directory (../shared/compat/cases or HOPS_COMPAT_CASES); skipped"
        );
        return;
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expect.txt").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() > 100,
        "only {} cases in {}",
        cases.len(),
        dir.display()
    );
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expect = std::fs::read_to_string(case.join("expect.txt")).unwrap();
        let first = expect.lines().next().unwrap_or_default();
        let original_valid = first.trim() == "valid";
        let set = PipelineSet::load_dir(case).unwrap();
        let ours_valid = !set.has_errors();
        checked += 1;
        let deliberate = DELIBERATE.iter().find(|(n, _)| *n == name);
        match (ours_valid == original_valid, deliberate) {
            (true, None) => {}
            (false, Some(_)) => {}
            (true, Some((_, why))) => mismatches.push(format!(
                "{name}: listed as a deliberate difference ({why}) but now agrees with the original; remove it from DELIBERATE"
            )),
            (false, None) => {
                let ours: Vec<String> = set
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| format!("{} {}: {} — {}", d.file, d.start.map_or(0, |p| p.line), d.summary, d.detail))
                    .collect();
                mismatches.push(format!(
                    "{name}: the original says `{first}`, Hops says {}{}",
                    if ours_valid { "valid" } else { "invalid" },
                    if ours.is_empty() { String::new() } else { format!(": {}", ours.join("; ")) }
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} cases differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
