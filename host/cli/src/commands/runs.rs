//! `hops runs list`, `hops runs show [--follow]` and `hops runs purge`.

use std::process::ExitCode;

use anyhow::Context as _;
use hops_api::{RunSummary, RunView};
use serde_json::json;

use crate::cli::remote::{RunsCommand, RunsListArgs, RunsPurgeArgs, RunsShowArgs};
use crate::commands::follow::{self, CallTracker, Followed};
use crate::commands::remote::{self, EXIT_TIMEOUT, print_json};
use crate::commands::timeline;
use crate::output::{Color, Style};

/// Dispatches `hops runs …`.
pub async fn run(command: RunsCommand) -> anyhow::Result<ExitCode> {
    match command {
        RunsCommand::List(args) => list(args).await,
        RunsCommand::Show(args) => show(args).await,
        RunsCommand::Purge(args) => purge(args).await,
    }
}

async fn purge(args: RunsPurgeArgs) -> anyhow::Result<ExitCode> {
    let client = remote::connect(&args.api)?;
    let report = client
        .purge_runs(args.older_than, args.dry_run)
        .await
        .context("cannot purge runs")?;
    if args.json {
        print_json(&report)?;
    } else if report.dry_run {
        println!(
            "{} runs ended before {} and would be purged (dry run: nothing removed)",
            report.runs,
            timeline::format_time(report.cutoff)
        );
    } else {
        println!(
            "purged {} runs that ended before {} ({} messages)",
            report.runs,
            timeline::format_time(report.cutoff),
            report.messages
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(args: RunsListArgs) -> anyhow::Result<ExitCode> {
    let client = remote::connect(&args.api)?;
    let filtered = args.status.is_some() || args.task.is_some() || args.before.is_some();
    let runs = if filtered {
        let query = hops_api::RunQuery {
            limit: usize::from(args.limit),
            status: args.status.as_deref().map(|s| match s {
                "running" => hops_api::RunStatus::Running,
                "completed" => hops_api::RunStatus::Completed,
                _ => hops_api::RunStatus::Errored,
            }),
            task: args.task.clone(),
            before: args.before,
        };
        client.find_runs(&query).await
    } else {
        client.list_runs(usize::from(args.limit)).await
    }
    .context("cannot list runs")?;
    if args.json {
        print_json(&runs)?;
    } else if runs.is_empty() {
        println!("no runs yet; start one with `hops run <task>` or `hops event send`");
    } else {
        println!("{}", table(&runs, Style::stdout()));
    }
    Ok(ExitCode::SUCCESS)
}

/// The run history as aligned columns.
fn table(runs: &[RunSummary], style: Style) -> String {
    let header = ["RUN ID", "STATUS", "EVENT", "STARTED", "DURATION"].map(str::to_owned);
    let rows: Vec<[String; 5]> = runs
        .iter()
        .map(|run| {
            [
                run.run_id.clone(),
                run.status.as_str().to_owned(),
                timeline::event_name(&run.source, &run.event, &run.action),
                timeline::format_time(run.started_at),
                run.finished_at
                    .map(|end| timeline::format_span(run.started_at, end))
                    .unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let mut widths = header.each_ref().map(String::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 5], status: Option<&RunSummary>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let padded = format!("{cell:<width$}");
            let shown = match (i, status) {
                (1, Some(run)) => padded.replace(cell, &timeline::run_word(run.status, style)),
                _ => padded,
            };
            out.push_str(&shown);
            if i + 1 < cells.len() {
                out.push_str("  ");
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = vec![style.paint(&line(&header, None), Color::Bold)];
    out.extend(rows.iter().zip(runs).map(|(row, run)| line(row, Some(run))));
    out.join("\n")
}

async fn show(args: RunsShowArgs) -> anyhow::Result<ExitCode> {
    let client = remote::connect(&args.api)?;
    let view = client
        .run(&args.run)
        .await
        .with_context(|| format!("cannot show run {}", args.run))?;
    if !args.follow {
        if args.json {
            print_json(&view)?;
        } else {
            println!("{}", timeline::render_run(&view, Style::stdout()));
        }
        return Ok(ExitCode::SUCCESS);
    }
    follow_run(&client, view, &args).await
}

/// `--follow`: the timeline so far, then calls as they change, then the outcome.
async fn follow_run(
    client: &hops_api::ApiClient,
    first: RunView,
    args: &RunsShowArgs,
) -> anyhow::Result<ExitCode> {
    let style = Style::stdout();
    let mut tracker = CallTracker::default();
    tracker.prime(&first);
    if !args.json {
        println!("{}", timeline::render_run(&first, style));
    }
    if first.status.is_finished() {
        if args.json {
            print_json(&first)?;
        }
        return Ok(remote::exit_for(first.status));
    }
    if !args.json {
        println!();
        println!("{}", style.paint("following…", Color::Dim));
    }
    let followed = follow::follow(client, &args.run, args.timeout, false, |view| {
        if !args.json {
            for call in tracker.changes(view, |_| true) {
                follow::print_call(call, style);
            }
        }
    })
    .await?;
    match followed {
        Followed::Ended(view) => {
            if args.json {
                print_json(&view)?;
            } else {
                println!("{}", timeline::run_header(&view, style));
                for pipeline in &view.pipelines {
                    println!("{}", timeline::pipeline_line(pipeline, style));
                }
            }
            Ok(remote::exit_for(view.status))
        }
        Followed::TimedOut => {
            if args.json {
                print_json(&json!({"run_id": args.run, "status": "running"}))?;
            }
            eprintln!(
                "{} stopped following run {} after {}; it is still running",
                crate::output::error_label(),
                args.run,
                humantime::format_duration(args.timeout.unwrap_or_default())
            );
            Ok(ExitCode::from(EXIT_TIMEOUT))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone as _, Utc};
    use hops_api::RunStatus;

    #[test]
    fn lists_runs_as_aligned_columns() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 1).unwrap();
        let runs = vec![
            RunSummary {
                run_id: "r-1".into(),
                status: RunStatus::Completed,
                source: "hiphops".into(),
                event: "task".into(),
                action: "deploy".into(),
                started_by: Some("local".into()),
                started_at: at,
                finished_at: Some(at + chrono::Duration::milliseconds(1500)),
                error: None,
                pipelines: Vec::new(),
                sequence: None,
            },
            RunSummary {
                run_id: "r-22".into(),
                status: RunStatus::Running,
                source: "me".into(),
                event: "push".into(),
                action: String::new(),
                started_by: None,
                started_at: at,
                finished_at: None,
                error: None,
                pipelines: Vec::new(),
                sequence: None,
            },
        ];
        assert_eq!(
            table(&runs, Style::plain()),
            "RUN ID  STATUS     EVENT                STARTED                  DURATION\n\
             r-1     completed  hiphops/task/deploy  2026-11-24 10:00:01 UTC  1.5s\n\
             r-22    running    me/push              2026-11-24 10:00:01 UTC  -"
        );
    }
}
