//! `hops`: the command-line entry point. Parsing, exit codes and output live here; the work is
//! done by the library crates.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{} {err:#}", output::error_label());
            ExitCode::from(1)
        }
    }
}
