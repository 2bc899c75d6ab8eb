//! `hops`: the command-line entry point. Parsing, exit codes and output live here; the work is
//! done by the library crates.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

/// Apps every host has without a `.wasm` (native workers and host-provided apps), with their
/// handlers.
pub(crate) fn builtin_apps() -> &'static [(&'static str, &'static [&'static str])] {
    &[
        (hops_k8s::APP, hops_k8s::HANDLERS),
        (
            hops_runtime::inputs::INPUT_APP,
            &[hops_runtime::inputs::ASK_HANDLER],
        ),
    ]
}

/// musl's allocator serialises threads; the static image's binary allocates with mimalloc.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{} {err:#}", output::error_label());
            ExitCode::from(1)
        }
    }
}

/// `hops runs show … | head`: when the reader goes away, stop quietly instead of panicking
/// with "failed printing to stdout: Broken pipe" (Rust ignores SIGPIPE, so `println!` fails).
/// The exit status is the one a process killed by SIGPIPE has (141), as for `yes | head`.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") || message.contains("os error 32") {
            std::process::exit(128 + 13);
        }
        default(info);
    }));
}
