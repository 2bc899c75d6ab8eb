//! `hops bench --json` prints one object with every figure, after checking that every run of
//! the throughput phase completed exactly once and every call of the wide and long shapes ran
//! exactly once.

use std::process::Command;

use crate::up::HOPS;

#[test]
fn bench_json_reports_every_figure() {
    let output = Command::new(HOPS)
        .args([
            "bench",
            "--json",
            "--runs",
            "10",
            "--duration",
            "1",
            "--wide",
            "60",
            "--long",
            "20",
            "--shape-runs",
            "1",
            "--plugins",
            hops_test_plugins::DIR,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    for key in [
        "event_to_first_call_ms",
        "step_overhead_ms",
        "nats_floor_ms",
        "nats_publish_ms",
        "wide_run_ms",
        "wide_per_call_ms",
        "long_step_overhead_ms",
    ] {
        for p in ["p50", "p90", "p99"] {
            assert!(
                report[key][p].as_f64().is_some_and(|v| v > 0.0),
                "{key}.{p}: {report}"
            );
        }
    }
    assert!(
        report["throughput_runs_per_s"]
            .as_f64()
            .is_some_and(|v| v > 0.0),
        "{report}"
    );
    assert!(
        report["throughput_runs_checked"]
            .as_u64()
            .is_some_and(|v| v > 0),
        "{report}"
    );
    for language in ["rust", "python", "js"] {
        assert!(
            report["wasm_call_us"][language]["p50"]
                .as_f64()
                .is_some_and(|v| v > 0.0),
            "{report}"
        );
    }
    for key in ["peak_rss_mb", "startup_peak_rss_mb"] {
        assert!(
            report[key].as_f64().is_some_and(|v| v > 0.0),
            "{key}: {report}"
        );
    }
    assert_eq!(report["wide_calls"].as_u64(), Some(60), "{report}");
    assert_eq!(report["long_steps"].as_u64(), Some(20), "{report}");
    assert_eq!(
        report["apps_loaded"].as_u64(),
        Some(20),
        "the measured host loads the test apps topped up with echo copies: {report}"
    );
}
