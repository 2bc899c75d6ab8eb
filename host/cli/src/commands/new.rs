//! `hops new app NAME --lang rust|python|js [--world worker|listener]`: a new app project that
//! builds as it stands. The templates (`sdk/templates/`), the helper modules and the WIT
//! contract are compiled into the binary, so it works wherever `hops` runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::new::{Lang, NewAppArgs, World};

macro_rules! repo_file {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../", $path)),
        )
    };
}

/// The contract, as `wit/` of the repository: copied into Python and JavaScript apps.
const WIT: &[(&str, &str)] = &[
    repo_file!("wit/config.wit"),
    repo_file!("wit/events.wit"),
    repo_file!("wit/listener.wit"),
    repo_file!("wit/log.wit"),
    repo_file!("wit/types.wit"),
    repo_file!("wit/worker.wit"),
    repo_file!("wit/worlds.wit"),
    repo_file!("wit/deps/wasi-cli@0.2.12/cli.wit"),
    repo_file!("wit/deps/wasi-clocks@0.2.12/clocks.wit"),
    repo_file!("wit/deps/wasi-filesystem@0.2.12/filesystem.wit"),
    repo_file!("wit/deps/wasi-http@0.2.12/http.wit"),
    repo_file!("wit/deps/wasi-io@0.2.12/io.wit"),
    repo_file!("wit/deps/wasi-random@0.2.12/random.wit"),
    repo_file!("wit/deps/wasi-sockets@0.2.12/sockets.wit"),
];

const RUST_CARGO: &str = repo_file!("sdk/templates/rust/Cargo.toml").1;
const RUST_WORKER: &str = repo_file!("sdk/templates/rust/worker.rs").1;
const RUST_LISTENER: &str = repo_file!("sdk/templates/rust/listener.rs").1;
const RUST_README: &str = repo_file!("sdk/templates/rust/README.md").1;
const PY_WORKER: &str = repo_file!("sdk/templates/python/worker.py").1;
const PY_LISTENER: &str = repo_file!("sdk/templates/python/listener.py").1;
const PY_README: &str = repo_file!("sdk/templates/python/README.md").1;
const PY_HELPER: &str = repo_file!("sdk/python/hops_app.py").1;
const JS_WORKER: &str = repo_file!("sdk/templates/js/worker.js").1;
const JS_LISTENER: &str = repo_file!("sdk/templates/js/listener.js").1;
const JS_README: &str = repo_file!("sdk/templates/js/README.md").1;
const JS_PACKAGE: &str = repo_file!("sdk/templates/js/package.json").1;
const JS_HELPER: &str = repo_file!("sdk/js/hops.js").1;

/// The Rust SDK of the checkout this binary was built from, when it is still there.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk");
/// Where the SDK is published otherwise.
const SDK_GIT: &str = "https://github.com/hops-rs/hops";

/// Writes the project and says how to build it.
pub fn run(args: &NewAppArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        hops_core::is_valid_app_name(&args.name),
        "{:?} cannot name an app: use lowercase letters and digits only (no `_`, `-` or capitals), \
         since pipelines call it as `<app>_<handler>`",
        args.name
    );
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some())? {
        anyhow::bail!(
            "{} already exists and is not empty; pick another --dir or remove it",
            dir.display()
        );
    }
    let files = project(args)?;
    for (path, text) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let build = files
        .iter()
        .find(|(p, _)| p == "README.md")
        .and_then(|(_, readme)| {
            readme
                .lines()
                .find(|l| !l.starts_with('#') && !l.starts_with("```") && !l.trim().is_empty())
        })
        .unwrap_or_default()
        .to_owned();
    println!(
        "created {} {} app {} in {}",
        args.lang.as_str(),
        args.world.as_str(),
        args.name,
        dir.display()
    );
    println!("build it:  cd {} && {build}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// The files of the project, by path relative to its directory.
fn project(args: &NewAppArgs) -> anyhow::Result<Vec<(String, String)>> {
    let name = args.name.as_str();
    let (kind, world) = match args.world {
        World::Worker => ("worker", "worker-app"),
        World::Listener => ("listener", "listener-app"),
    };
    let usage = match args.world {
        World::Worker => format!(
            "Pipelines call it as `{name}_hello` (`inputs = {{ name = \"Ada\" }}`); add handlers to the route."
        ),
        World::Listener => format!(
            "Webhooks to `/listen/{name}/hello` (a JSON body) start runs of `on greeting` pipelines; \
             a `poll-interval` in `{name}.toml` makes the host call `tick` that often."
        ),
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{world}}", world)
            .replace("{{kind}}", kind)
            .replace("{{usage}}", &usage)
    };
    let mut files: Vec<(String, String)> = Vec::new();
    match args.lang {
        Lang::Rust => {
            let sdk = sdk_dependency(args.sdk.as_deref())?;
            files.push((
                "Cargo.toml".into(),
                fill(RUST_CARGO).replace("{{sdk}}", &sdk),
            ));
            let source = match args.world {
                World::Worker => RUST_WORKER,
                World::Listener => RUST_LISTENER,
            };
            files.push(("src/lib.rs".into(), fill(source)));
            files.push(("README.md".into(), fill(RUST_README)));
            files.push((".gitignore".into(), "/target\n*.wasm\n".into()));
        }
        Lang::Python => {
            let source = match args.world {
                World::Worker => PY_WORKER,
                World::Listener => PY_LISTENER,
            };
            files.push(("app.py".into(), fill(source)));
            files.push(("hops_app.py".into(), PY_HELPER.into()));
            files.push(("README.md".into(), fill(PY_README)));
            files.push((".gitignore".into(), "__pycache__/\n*.wasm\n".into()));
            files.extend(wit());
        }
        Lang::Js => {
            let source = match args.world {
                World::Worker => JS_WORKER,
                World::Listener => JS_LISTENER,
            };
            files.push(("app.js".into(), fill(source)));
            files.push(("hops.js".into(), JS_HELPER.into()));
            files.push(("package.json".into(), fill(JS_PACKAGE)));
            files.push(("README.md".into(), fill(JS_README)));
            files.push((".gitignore".into(), "node_modules/\n*.wasm\n".into()));
            files.extend(wit());
        }
    }
    Ok(files)
}

fn wit() -> Vec<(String, String)> {
    WIT.iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect()
}

/// `hops-sdk = { path = … }` for `--sdk` or the checkout this binary came from, else the git
/// repository.
fn sdk_dependency(explicit: Option<&Path>) -> anyhow::Result<String> {
    let local = match explicit {
        Some(path) => {
            anyhow::ensure!(
                path.join("Cargo.toml").is_file(),
                "--sdk {}: no Cargo.toml there; point it at the `sdk` directory of a Hops checkout",
                path.display()
            );
            Some(path.to_owned())
        }
        None => Some(PathBuf::from(BUILT_FROM_SDK)).filter(|p| p.join("Cargo.toml").is_file()),
    };
    Ok(match local {
        Some(path) => {
            let path = std::fs::canonicalize(&path).unwrap_or(path);
            format!("hops-sdk = {{ path = {:?} }}", path.display().to_string())
        }
        None => format!("hops-sdk = {{ git = {SDK_GIT:?} }}"),
    })
}
