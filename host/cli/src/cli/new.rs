//! Arguments of `hops new`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `hops new …`.
#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A new app project (a worker or a listener) that builds as it stands.
    App(NewAppArgs),
}

/// `hops new app`.
#[derive(Debug, Args)]
pub struct NewAppArgs {
    /// The app's name: lowercase letters and digits (pipelines call it as `<name>_<handler>`).
    pub name: String,
    /// The language.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// A worker (handles calls) or a listener (turns webhooks and polls into runs).
    #[arg(long, value_enum, default_value_t = World::Worker)]
    pub world: World,
    /// Where to write it (default: `./NAME`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Rust: the `sdk` directory of a Hops checkout to depend on (default: the checkout this
    /// `hops` was built from, when it is there, else the git repository).
    #[arg(long, value_name = "DIR")]
    pub sdk: Option<PathBuf>,
}

/// Languages `hops new` writes apps in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust with hops-sdk, built with cargo for wasm32-wasip2.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
}

impl Lang {
    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
        }
    }
}

/// What kind of app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum World {
    /// Handles `call "<app>_<handler>"`.
    Worker,
    /// Receives webhooks and polls, and emits events.
    Listener,
}

impl World {
    /// Its name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            World::Worker => "worker",
            World::Listener => "listener",
        }
    }
}
