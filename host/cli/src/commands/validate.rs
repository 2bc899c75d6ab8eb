//! `hops validate DIR [--format json]`.

use std::process::ExitCode;

use hops_pipeline::{Diagnostic, KnownApps, PipelineSet, Severity};
use serde_json::json;

use crate::cli::{Format, ValidateArgs};
use crate::output;

/// Exit codes: 0 valid (warnings allowed), 1 any error, 2 the directory cannot be read.
pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut options = args.eval.settings()?.load_options();
    if let Some(plugins) = &args.plugins {
        let known = apps_in(plugins)?;
        options.apps = Some(std::sync::Arc::new(move || known.clone()));
    }
    let dir = match &args.hops {
        Some(dir) => {
            eprintln!(
                "note: -H/--hops is the original engine's flag; write `hops validate {}` instead",
                dir.display()
            );
            dir.clone()
        }
        None => args.dir.clone(),
    };
    let format = if args.pretty {
        eprintln!(
            "note: --pretty is the original engine's flag; `hops validate` prints diagnostics for people by default and JSON with --format json"
        );
        Format::Json
    } else {
        args.format
    };
    let args = &ValidateArgs {
        dir,
        format,
        plugins: args.plugins.clone(),
        hops: None,
        pretty: args.pretty,
        eval: args.eval.clone(),
    };
    let set = match PipelineSet::load_dir_with(&args.dir, &options) {
        Ok(set) => set,
        Err(err) => {
            match args.format {
                Format::Json => println!(
                    "{}",
                    json!({"is_valid": false, "file_count": 0, "num_issues": 0, "diagnostics": [], "read_error": err.to_string()})
                ),
                Format::Human => eprintln!("{} {err}", output::error_label()),
            }
            return Ok(ExitCode::from(2));
        }
    };
    let mut diagnostics = set.diagnostics.clone();
    if !set.sources.keys().any(|_| true) {
        diagnostics.push(
            Diagnostic::warning(
                "No pipelines found",
                format!("There are no .hops files in {}.", args.dir.display()),
            )
            .with_help("add a file such as `hello/main.hops` with an `on` block"),
        );
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    match args.format {
        Format::Json => {
            let value = json!({
                "is_valid": errors == 0,
                "file_count": set.file_count(),
                "num_issues": diagnostics.len(),
                "diagnostics": diagnostics.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
            });
            if args.pretty {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                );
            } else {
                println!("{value}");
            }
        }
        Format::Human => print_human(&set, &diagnostics, errors),
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The apps of a plugins directory (by their `.wasm` files) with the handlers their tomls
/// declare, plus the apps built into the host.
fn apps_in(dir: &std::path::Path) -> anyhow::Result<KnownApps> {
    use anyhow::Context as _;
    let mut apps = std::collections::BTreeMap::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the plugins directory {}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
            continue;
        }
        let Some(name) = hops_wasm::app_name_of(&path) else {
            continue;
        };
        let toml = path.with_extension("toml");
        let handlers = match std::fs::read_to_string(&toml) {
            Ok(text) => hops_wasm::declared_handlers(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", toml.display()))?,
            Err(_) => None,
        };
        apps.insert(name, handlers);
    }
    for (name, handlers) in crate::builtin_apps() {
        apps.entry((*name).to_owned())
            .or_insert_with(|| Some(handlers.iter().map(|h| (*h).to_owned()).collect()));
    }
    Ok(KnownApps {
        source: format!("the plugins directory {}", dir.display()),
        apps,
    })
}

fn print_human(set: &PipelineSet, diagnostics: &[Diagnostic], errors: usize) {
    let color = output::color_stdout();
    for d in diagnostics {
        let source = set.sources.get(&d.file).map(|s| s.text.as_str());
        println!("{}", d.render(source, color));
    }
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let contents = format!(
        "{}, {}, {}, {}",
        plural(set.file_count(), "file"),
        plural(set.ons.len(), "pipeline"),
        plural(set.tasks.len(), "task"),
        plural(set.schedules.len(), "schedule")
    );
    if errors > 0 {
        let label = if color {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        println!(
            "{label}: {} and {} in {contents}",
            plural(errors, "error"),
            plural(warnings, "warning")
        );
    } else {
        let label = if color {
            "\x1b[1;32mvalid\x1b[0m"
        } else {
            "valid"
        };
        let extra = if warnings > 0 {
            format!(" ({})", plural(warnings, "warning"))
        } else {
            String::new()
        };
        println!("{label}: {contents}{extra}");
    }
}
