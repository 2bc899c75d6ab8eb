//! `hops health`: the container image's health check (a `FROM scratch` image has no curl).

use std::process::ExitCode;

use hops_api::ClientError;

use crate::cli::HealthArgs;
use crate::commands::remote;

/// Asks `/health` (or `/ready`) and turns the answer into an exit code.
pub async fn run(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let client = remote::connect(&args.api)?;
    let (ok, message) = if args.ready {
        match client.ready().await {
            Ok(readiness) if readiness.ready => (true, "ready".to_owned()),
            Ok(readiness) => (
                false,
                format!(
                    "not ready: {}",
                    readiness.reason.as_deref().unwrap_or("no reason given")
                ),
            ),
            Err(err) => (false, unreachable(&err)),
        }
    } else {
        match client.health().await {
            Ok(()) => (true, "alive".to_owned()),
            Err(err) => (false, unreachable(&err)),
        }
    };
    if !args.quiet {
        if ok {
            println!("{}: {message}", args.api.url);
        } else {
            eprintln!("{}: {message}", args.api.url);
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(remote::EXIT_ERRORED)
    })
}

fn unreachable(err: &ClientError) -> String {
    format!("not answering: {err}")
}
