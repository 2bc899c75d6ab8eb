//! `hops validate`: exit codes, human and JSON output.

use std::path::PathBuf;
use std::process::Command;

fn hops() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hops"));
    cmd.env("NO_COLOR", "1");
    cmd
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn valid_directory_exits_zero() {
    let out = hops()
        .args(["validate"])
        .arg(repo("examples/quickstart"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("valid: 2 files, 2 pipelines, 1 task, 1 schedule")
    );
}

#[test]
fn errors_exit_one_with_rustc_style_output() {
    let out = hops()
        .args(["validate"])
        .arg(repo("testdata/pipelines/invalid/unknown_variable"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("error: Unknown variable\n --> main.hops:4:10\n"),
        "{text}"
    );
    assert!(
        text.contains("4 |     if = frist.completed\n  |          ^^^^^\n"),
        "{text}"
    );
    assert!(text.contains("= help: did you mean `first`?"), "{text}");
}

#[test]
fn json_output_has_the_documented_shape() {
    let out = hops()
        .args(["validate", "--format", "json"])
        .arg(repo(
            "testdata/pipelines/invalid/duplicate_on_names_two_files",
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["is_valid"], false);
    assert_eq!(v["file_count"], 2);
    assert_eq!(v["num_issues"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["summary"], "Duplicate names found");
    assert_eq!(d["file"], "one/b.hops");
    assert_eq!(
        (
            d["line"].as_u64(),
            d["column"].as_u64(),
            d["end_line"].as_u64(),
            d["end_column"].as_u64()
        ),
        (Some(1), Some(17), Some(1), Some(23))
    );
    assert!(d["detail"].as_str().unwrap().contains("must be unique"));
}

#[test]
fn unreadable_directory_exits_two_with_a_message() {
    let out = hops()
        .args(["validate", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot read pipelines directory /definitely/not/here")
    );
    let out = hops()
        .args(["validate", "--format", "json", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["is_valid"], false);
    assert!(v["read_error"].as_str().unwrap().contains("No such file"));
}

#[test]
fn empty_directory_is_valid_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = hops().args(["validate"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("warning: No pipelines found"));
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    // Thousands of diagnostics: far more output than a pipe holds.
    let text: String = (0..3000).map(|i| format!("on BAD_{i} {{}}\n")).collect();
    std::fs::write(dir.path().join("a/main.hops"), text).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; {:?} validate {:?} | head -n 1",
            env!("CARGO_BIN_EXE_hops"),
            dir.path()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    // As a process killed by SIGPIPE: the output was cut short (`set -o pipefail` sees it).
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

#[test]
fn plugins_checks_calls_and_the_original_flags_still_work() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    std::fs::write(
        dir.path().join("p/main.hops"),
        "on x {\n  call echo_ecoh {}\n  call ehco_echo {}\n}\n",
    )
    .unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(hops_test_plugins::ECHO, plugins.join("echo.wasm")).unwrap();
    std::fs::write(
        plugins.join("echo.toml"),
        "handlers = [\"echo\", \"fail\"]\n",
    )
    .unwrap();
    let out = hops()
        .arg("validate")
        .arg(dir.path())
        .arg("--plugins")
        .arg(&plugins)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "warnings only: {stdout}");
    assert!(stdout.contains("warning: Unknown handler"), "{stdout}");
    assert!(stdout.contains("did you mean `echo_echo`?"), "{stdout}");
    assert!(
        stdout.contains("warning: No app serves this call"),
        "{stdout}"
    );

    // -H DIR and --pretty, the original engine's flags: accepted, with a note.
    let out = hops()
        .args(["validate", "--pretty", "-H"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: -H/--hops is the original engine's flag"),
        "{stderr}"
    );
    assert!(stderr.contains("note: --pretty"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["is_valid"], true);
}

/// The k8s example loads with no diagnostic at all, its apps known: `github` and `http` from
/// the plugins directory, `k8s` built in.
#[test]
fn the_k8s_example_is_clean() {
    let plugins = tempfile::tempdir().unwrap();
    for (name, path) in [
        ("github", hops_test_plugins::GITHUB),
        ("http", hops_test_plugins::HTTP),
    ] {
        std::fs::copy(path, plugins.path().join(format!("{name}.wasm"))).unwrap();
    }
    let out = hops()
        .args(["validate"])
        .arg(repo("examples/k8s"))
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("warning"), "{text}");
    assert!(
        text.starts_with("valid: ") && text.contains(" 1 pipeline,"),
        "{text}"
    );
}

/// The approval example is clean: `input` is built in, with its one handler `ask`; a call to
/// another handler of it is a warning.
#[test]
fn the_approval_example_is_clean_and_input_has_one_handler() {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(hops_test_plugins::ECHO, plugins.path().join("echo.wasm")).unwrap();
    let out = hops()
        .args(["validate"])
        .arg(repo("examples/approval"))
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("warning"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.hops"),
        "on x {\n  call input_aks {\n    inputs = { prompt = \"?\" }\n  }\n}\n",
    )
    .unwrap();
    let out = hops()
        .arg("validate")
        .arg(dir.path())
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("warning: Unknown handler"), "{text}");
    assert!(text.contains("input_ask"), "{text}");
}
