//! One module per command.

mod bench;
mod event;
mod follow;
mod health;
mod input;
mod k8s;
mod new;
mod params;
mod plugins;
mod remote;
mod replay;
mod run;
mod runs;
mod serve;
mod start;
mod timeline;
mod up;
mod validate;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up(args) => remote::block_on_host(up::run(*args)),
        Command::Start(args) => remote::block_on_host(start::run(*args)),
        Command::Plugins(command) => remote::block_on(plugins::run(command)),
        Command::Bench(args) => remote::block_on_host(bench::run(args)),
        Command::Validate(args) => validate::run(&args),
        Command::New(crate::cli::new::NewCommand::App(args)) => new::run(&args),
        Command::Run(args) => remote::block_on(run::run(args)),
        Command::Event(command) => remote::block_on(event::run(command)),
        Command::Runs(command) => remote::block_on(runs::run(command)),
        Command::Input(command) => remote::block_on(input::run(command)),
        Command::Replay(args) => remote::block_on(replay::run(args)),
        Command::Health(args) => remote::block_on(health::run(args)),
    }
}
