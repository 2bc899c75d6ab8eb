//! The shapes that show whether costs stay flat as a run grows: *wide* (one run that fans out
//! to many parallel calls) and *long* (one run of many sequential steps). Each is compared with
//! the 10-step figure: a run's cost per call or per step should not grow with its size.

use std::time::Duration;

use serde_json::{Value, json};

use super::stats::{Percentiles, round3};
use super::{Bench, BenchArgs};

/// A pipeline on `bench_wide` of `calls` echo calls that all start at once.
pub fn wide_pipeline(calls: u32) -> String {
    let mut text = String::from("on bench_wide {\n");
    for i in 1..=calls {
        text.push_str(&format!(
            "  call echo_echo {{\n    name = \"w{i}\"\n    inputs = {{ n = event.n }}\n  }}\n"
        ));
    }
    text.push_str("}\n");
    text
}

/// How long one run of a shape may take before the bench fails: generous, so a slow machine
/// still reports its figure, but bounded, so a run that never ends is an error.
fn shape_limit(calls: u32) -> Duration {
    Duration::from_secs(30) + Duration::from_millis(50) * calls
}

impl Bench {
    /// Runs the wide and long shapes `args.shape_runs` times each, one run at a time, checking
    /// that every call of every run executed exactly once.
    pub(super) async fn shapes(&self, args: &BenchArgs) -> anyhow::Result<Value> {
        let mut wide_ms = Vec::new();
        let mut wide_per_call = Vec::new();
        for i in 0..args.shape_runs {
            let (run, rx, started) = self.start_run("bench_wide", i as usize).await?;
            let finished = Bench::finish_within(rx, shape_limit(args.wide)).await?;
            self.ensure_calls(&run, "wide", args.wide)?;
            let ms = finished.duration_since(started).as_secs_f64() * 1000.0;
            wide_ms.push(ms);
            wide_per_call.push(ms / f64::from(args.wide));
        }
        let mut long_step = Vec::new();
        for i in 0..args.shape_runs {
            let (run, rx, started) = self.start_run("bench_long", i as usize).await?;
            let finished = Bench::finish_within(rx, shape_limit(args.long)).await?;
            self.ensure_calls(&run, "long", args.long)?;
            let overhead = finished
                .duration_since(started)
                .saturating_sub(self.probe_of(&run).busy);
            long_step.push(overhead.as_secs_f64() * 1000.0 / f64::from(args.long));
        }
        Ok(json!({
            "wide_calls": args.wide,
            "wide_run_ms": Percentiles::of(wide_ms).to_json(),
            "wide_per_call_ms": Percentiles::of(wide_per_call).to_json(),
            "long_steps": args.long,
            "long_step_overhead_ms": Percentiles::of(long_step).to_json(),
        }))
    }

    /// Fails unless `run` executed exactly `expected` calls.
    fn ensure_calls(&self, run: &str, shape: &str, expected: u32) -> anyhow::Result<()> {
        let calls = self.probe_of(run).calls;
        anyhow::ensure!(
            calls == expected as usize,
            "correctness of the {shape} shape failed: run {run} executed {calls} calls, expected each of its {expected} exactly once"
        );
        Ok(())
    }
}

/// The shapes' lines of the human report, each beside the 10-step figure it is held to.
pub fn print_human(report: &Value) {
    let step = report["step_overhead_ms"]["p50"].as_f64().unwrap_or(0.0);
    let ratio = |v: f64| {
        if step > 0.0 {
            format!("{:.2}x the 10-step figure", v / step)
        } else {
            "-".to_owned()
        }
    };
    let wide = report["wide_per_call_ms"]["p50"].as_f64().unwrap_or(0.0);
    println!(
        "{:<24} p50 {:>9} ms  ({} calls at once; p50 per call {} ms, {})   budget: within 2x",
        "wide_run_ms",
        report["wide_run_ms"]["p50"],
        report["wide_calls"],
        round3(wide),
        ratio(wide)
    );
    let long = report["long_step_overhead_ms"]["p50"]
        .as_f64()
        .unwrap_or(0.0);
    println!(
        "{:<24} p50 {:>9} ms  ({} sequential steps, {})   budget: within 2x",
        "long_step_overhead_ms",
        report["long_step_overhead_ms"]["p50"],
        report["long_steps"],
        ratio(long)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wide_pipeline_has_one_independent_call_per_slot() {
        let text = wide_pipeline(3);
        assert_eq!(text.matches("call echo_echo").count(), 3);
        assert!(text.contains("name = \"w3\""));
        assert!(
            !text.contains("if ="),
            "wide calls wait for nothing: {text}"
        );
    }
}
