//! `hops input list` and `hops input answer RUN CALL --param NAME=VALUE…`.

use std::process::ExitCode;

use anyhow::Context as _;
use hops_api::InputView;

use crate::cli::remote::{InputAnswerArgs, InputCommand, InputListArgs};
use crate::commands::remote::{self, print_json};
use crate::commands::{params, timeline};

/// Dispatches `hops input …`.
pub async fn run(command: InputCommand) -> anyhow::Result<ExitCode> {
    match command {
        InputCommand::List(args) => list(args).await,
        InputCommand::Answer(args) => answer(args).await,
    }
}

async fn list(args: InputListArgs) -> anyhow::Result<ExitCode> {
    let client = remote::connect(&args.api)?;
    let inputs = client
        .inputs()
        .await
        .context("cannot list the open inputs")?;
    if args.json {
        print_json(&inputs)?;
    } else if inputs.is_empty() {
        println!("no input is waiting for an answer");
    } else {
        for input in &inputs {
            println!("{}", describe(input));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One input as a few lines: where it waits, what it asks, and how to answer it.
fn describe(input: &InputView) -> String {
    let mut out = format!(
        "{} {}  asked {}{}\n  {}\n",
        input.run_id,
        input.call,
        timeline::format_time(input.asked_at),
        input
            .deadline_at
            .map(|at| format!(", deadline {}", timeline::format_time(at)))
            .unwrap_or_default(),
        input.prompt
    );
    for param in &input.params {
        out.push_str(&format!(
            "  --param {}=<{}>{}{}{}\n",
            param.name,
            param.kind.as_str(),
            if param.required && param.default.is_none() {
                " (required)"
            } else {
                ""
            },
            param
                .default
                .as_ref()
                .map(|d| format!(" (default {d})"))
                .unwrap_or_default(),
            if param.help.is_empty() {
                String::new()
            } else {
                format!("  {}", param.help)
            }
        ));
    }
    out.push_str(&format!(
        "  answer: hops input answer {} {}",
        input.run_id, input.call
    ));
    out
}

async fn answer(args: InputAnswerArgs) -> anyhow::Result<ExitCode> {
    let client = remote::connect(&args.api)?;
    let open = client
        .inputs()
        .await
        .context("cannot list the open inputs")?;
    // The params' types come from the question; an input not open is left to the host to
    // explain (never asked, or answered already).
    let declared = open
        .iter()
        .find(|i| i.run_id == args.run && (i.call == args.call || i.slug == args.call))
        .map(|i| i.params.clone())
        .unwrap_or_default();
    let values = if declared.is_empty() && !args.params.is_empty() {
        // Unknown here: send strings and let the host say what does not fit.
        args.params
            .iter()
            .map(|raw| {
                raw.split_once('=')
                    .map(|(k, v)| (k.trim().to_owned(), serde_json::Value::String(v.to_owned())))
                    .ok_or_else(|| anyhow::anyhow!("--param expects NAME=VALUE, got `{raw}`"))
            })
            .collect::<anyhow::Result<_>>()?
    } else {
        params::convert_for(&format!("input `{}`", args.call), &declared, &args.params)?
    };
    let answered = client
        .answer_input(&args.run, &args.call, &values)
        .await
        .with_context(|| format!("cannot answer input `{}` of run {}", args.call, args.run))?;
    if args.json {
        print_json(&answered)?;
    } else {
        println!(
            "answered {} of run {} as {}; the run goes on (hops runs show {} --follow)",
            answered.call, answered.run_id, answered.answered_by, answered.run_id
        );
    }
    Ok(ExitCode::SUCCESS)
}
