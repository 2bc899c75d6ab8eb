//! `hops replay RUN [--dry-run] [--wait] [--json]`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use hops_api::{Accepted, ReplayOutcome};

use crate::cli::remote::ReplayArgs;
use crate::commands::remote::{self, print_json};
use crate::commands::timeline;
use crate::output::{Color, Style};

/// Replays the run's event with the current pipelines, or on `--dry-run` prints the plan.
pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let client = remote::connect(&args.api)?;
    let outcome = client
        .replay(&args.run, args.dry_run)
        .await
        .with_context(|| format!("cannot replay run {}", args.run))?;
    if args.dry_run {
        if args.json {
            print_json(&outcome)?;
        } else {
            println!("{}", plan(&args.run, &outcome, Style::stdout()));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(run_id) = outcome.run_id.clone() else {
        bail!(
            "the host replayed run {} but did not say which run it started",
            args.run
        );
    };
    if !args.json && !args.wait.wait {
        for diagnostic in &outcome.diagnostics {
            eprintln!("warning: {diagnostic}");
        }
    }
    let accepted = Accepted {
        run_id,
        duplicate: false,
    };
    remote::report_started(&client, &accepted, &args.wait, args.json).await
}

/// What a dry run would dispatch, for people.
fn plan(run_id: &str, outcome: &ReplayOutcome, style: Style) -> String {
    let count = outcome.calls.len();
    let mut out = vec![format!(
        "dry run: replaying run {run_id} with the current pipelines would dispatch {count} call{}",
        if count == 1 { "" } else { "s" }
    )];
    for call in &outcome.calls {
        out.push(format!(
            "  {}  {}  {}",
            style.paint(&format!("{}.{}", call.pipeline, call.name), Color::Bold),
            style.paint(&format!("{}.{}", call.app, call.handler), Color::Dim),
            timeline::compact(&call.inputs)
        ));
    }
    if !outcome.pipelines.is_empty() {
        out.push(style.paint("pipelines", Color::Bold));
        out.extend(
            outcome
                .pipelines
                .iter()
                .map(|p| timeline::pipeline_line(p, style)),
        );
    }
    if !outcome.diagnostics.is_empty() {
        out.push(style.paint("diagnostics", Color::Bold));
        out.extend(
            outcome
                .diagnostics
                .iter()
                .map(|d| format!("  {} {d}", style.paint("warning:", Color::Yellow))),
        );
    }
    out.join("\n")
}
