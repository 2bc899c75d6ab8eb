//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Hops: event-driven automation with WebAssembly apps, over NATS JetStream.
#[derive(Debug, Parser)]
#[command(name = "hops", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a pipelines directory and print diagnostics (exit 0 valid, 1 errors, 2 unreadable).
    Validate(ValidateArgs),
}

/// `hops validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The pipelines directory (every `*.hops` below it is loaded).
    #[arg(default_value = ".", env = "HOPS_PIPELINES")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics like rustc, for people.
    Human,
    /// One JSON object, for scripts and editors.
    Json,
}
