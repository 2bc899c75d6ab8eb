//! `hops run TASK [--param NAME=VALUE]... [--wait] [--json]`.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::remote::RunArgs;
use crate::commands::{params, remote};

/// Checks the params against the host's task list, starts the run, and reports it.
pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let client = remote::connect(&args.api)?;
    let tasks = client
        .tasks()
        .await
        .context("cannot list the host's tasks")?;
    let task = params::find_task(&tasks, &args.task)?;
    let params = params::convert(task, &args.params)?;
    let accepted = client
        .run_task(&task.name, &params)
        .await
        .with_context(|| format!("cannot run task `{}`", task.name))?;
    remote::report_started(&client, &accepted, &args.wait, args.json).await
}
