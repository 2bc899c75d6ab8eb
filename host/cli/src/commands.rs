//! One module per command.

mod event;
mod follow;
mod params;
mod remote;
mod replay;
mod run;
mod runs;
mod timeline;
mod validate;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Run(args) => remote::block_on(run::run(args)),
        Command::Event(command) => remote::block_on(event::run(command)),
        Command::Runs(command) => remote::block_on(runs::run(command)),
        Command::Replay(args) => remote::block_on(replay::run(args)),
    }
}
