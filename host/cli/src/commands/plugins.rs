//! `hops plugins list` (from a running host) and `hops plugins inspect FILE` (offline).

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::Value;

use super::remote::{connect, print_json};
use crate::cli::host::{PluginsCommand, PluginsInspectArgs, PluginsListArgs};

/// Runs a `plugins` subcommand.
pub async fn run(command: PluginsCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginsCommand::List(args) => list(args).await,
        PluginsCommand::Inspect(args) => inspect(&args),
    }
}

async fn list(args: PluginsListArgs) -> anyhow::Result<ExitCode> {
    let client = connect(&args.api)?;
    let apps = client.apps().await?;
    if args.json {
        print_json(&apps)?;
        return Ok(ExitCode::SUCCESS);
    }
    let apps = apps.as_array().cloned().unwrap_or_default();
    if apps.is_empty() {
        println!("no apps: drop <name>.wasm files into the host's plugins directory");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<14} {:<10} {:<12} {:<14} GRANTS",
        "NAME", "WORLD", "STATUS", "VERSION"
    );
    for app in &apps {
        let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        let status = match app["status"]["state"].as_str() {
            Some("ready") => "ready".to_owned(),
            Some("loading") => format!(
                "loading ({} s)",
                app["status"]["for_ms"].as_u64().unwrap_or(0) / 1000
            ),
            Some(state) if app["serving"] == true => format!(
                "{state}, previous version serving: {}",
                text(&app["status"]["message"])
            ),
            Some(state) => format!("{state}: {}", text(&app["status"]["message"])),
            None => "-".to_owned(),
        };
        let grants = app["settings"]
            .get("allowed_hosts")
            .and_then(Value::as_array)
            .map(|hosts| {
                if hosts.is_empty() {
                    "no network".to_owned()
                } else {
                    format!(
                        "hosts: {}",
                        hosts.iter().map(text).collect::<Vec<_>>().join(", ")
                    )
                }
            })
            .or_else(|| app["grants"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "-".to_owned());
        println!(
            "{:<14} {:<10} {:<12} {:<14} {grants}",
            text(&app["name"]),
            text(&app["world"]),
            status,
            text(&app["version"]),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(args: &PluginsInspectArgs) -> anyhow::Result<ExitCode> {
    let inspection = hops_wasm::inspect(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    if args.json {
        print_json(&inspection)?;
    } else {
        print!("{inspection}");
    }
    Ok(if inspection.fits {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
