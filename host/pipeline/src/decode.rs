//! Files → [`PipelineSet`]: parse, decode each block, assign slugs, check names and references.

mod blocks;
pub use blocks::title_case;
mod checks;
mod heredoc;
mod nesting;
mod reader;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::budget::EvalLimits;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::functions::{Env, Files, PipelineEnv};
use crate::load::LoadedFiles;
use crate::model::{Manifest, PipelineSet};

/// The apps that can serve calls (a plugins directory, or what a host runs), so calls to an
/// app nothing serves — or to a handler an app does not have — are warned about at load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownApps {
    /// Where the list comes from, for messages (`the plugins directory plugins/`).
    pub source: String,
    /// App name → its handlers, when the app declares them.
    pub apps: BTreeMap<String, Option<Vec<String>>>,
}

/// Reads the current [`KnownApps`] (apps come and go while a host runs).
pub type AppsProvider = Arc<dyn Fn() -> KnownApps + Send + Sync>;

/// How pipelines are loaded and checked: the environment `env()` sees (load-time values use
/// it, and literal names it hides or refuses are reported), the budget of every load-time
/// evaluation, and the apps calls can go to.
#[derive(Clone)]
pub struct LoadOptions {
    /// What `env()` may read.
    pub env: Arc<dyn Env>,
    /// Budget of each load-time evaluation; its `max_depth` bounds every expression.
    pub limits: EvalLimits,
    /// The apps that can serve calls; `None` checks nothing.
    pub apps: Option<AppsProvider>,
}

impl Default for LoadOptions {
    /// The default pipeline environment (`HOPS_PIPELINE_*` only), the default limits, and no
    /// app checks.
    fn default() -> Self {
        LoadOptions {
            env: Arc::new(PipelineEnv::new()),
            limits: EvalLimits::default(),
            apps: None,
        }
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl PipelineSet {
    /// Reads and decodes a pipelines directory with the default [`LoadOptions`]. `Err` only when
    /// the directory itself cannot be read; problems in files are diagnostics in the returned set.
    pub fn load_dir(root: &std::path::Path) -> Result<PipelineSet, crate::load::LoadError> {
        Self::load_dir_with(root, &LoadOptions::default())
    }

    /// [`PipelineSet::load_dir`] with `options`.
    pub fn load_dir_with(
        root: &std::path::Path,
        options: &LoadOptions,
    ) -> Result<PipelineSet, crate::load::LoadError> {
        let loaded = crate::load::read_dir(root)?;
        Ok(Self::from_loaded(loaded, options))
    }

    /// Decodes files already in memory (e.g. a pinned version fetched from the object store).
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> PipelineSet {
        Self::from_files_with(files, &LoadOptions::default())
    }

    /// [`PipelineSet::from_files`] with `options`.
    pub fn from_files_with(files: BTreeMap<String, Vec<u8>>, options: &LoadOptions) -> PipelineSet {
        Self::from_loaded(
            LoadedFiles {
                files,
                warnings: Vec::new(),
            },
            options,
        )
    }

    fn from_loaded(loaded: LoadedFiles, options: &LoadOptions) -> PipelineSet {
        let hash = hops_core::pipeline_set_hash(&loaded.files);
        let files: Files = loaded
            .files
            .into_iter()
            .map(|(k, v)| (k, Arc::from(v)))
            .collect();
        let mut diags = loaded.warnings;
        let mut set = PipelineSet {
            hash,
            ..PipelineSet::default()
        };
        let mut raw_ons = Vec::new();
        let mut raw_tasks = Vec::new();
        let mut raw_schedules = Vec::new();
        for (path, bytes) in &files {
            let lower = path.to_ascii_lowercase();
            let base = lower.rsplit('/').next().unwrap_or(&lower);
            if lower.ends_with(".hops") {
                let Ok(text) = std::str::from_utf8(bytes) else {
                    diags.push(
                        Diagnostic::error(
                            "Invalid file encoding",
                            "A .hops file must be UTF-8 text.",
                        )
                        .at_file(path),
                    );
                    continue;
                };
                let src = SourceFile::new(path.clone(), text);
                let text = match heredoc::normalize(text) {
                    Ok(text) => text,
                    Err(unterminated) => {
                        diags.push(unterminated_heredoc(&src, &unterminated));
                        set.sources.insert(path.clone(), src);
                        continue;
                    }
                };
                if let Some(at) = nesting::too_deep(&text) {
                    diags.push(too_deep(&src, at));
                    set.sources.insert(path.clone(), src);
                    continue;
                }
                match hcl_edit::parser::parse_body(&text) {
                    Ok(body) => {
                        let mut ctx = reader::Ctx {
                            src: &src,
                            files: &files,
                            diags: &mut diags,
                            options,
                        };
                        let blocks = blocks::root(&body, &mut ctx);
                        raw_ons.extend(blocks.ons.into_iter().map(|o| (path.clone(), o)));
                        raw_tasks.extend(blocks.tasks.into_iter().map(|t| (path.clone(), t)));
                        raw_schedules
                            .extend(blocks.schedules.into_iter().map(|s| (path.clone(), s)));
                    }
                    Err(e) => diags.push(syntax_error(&src, &e)),
                }
                set.sources.insert(path.clone(), src);
            } else if base == "manifest.yaml" || base == "manifest.yml" {
                let automation = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
                match parse_manifest(bytes) {
                    Ok((m, warnings)) => {
                        for warning in warnings {
                            diags.push(
                                Diagnostic::warning("Unexpected manifest content", warning)
                                    .at_file(path)
                                    .at_start(),
                            );
                        }
                        set.manifests.insert(automation, m);
                    }
                    Err(e) => diags.push(
                        Diagnostic::error(
                            "Invalid automation manifest",
                            format!("Failed to parse manifest: {e}"),
                        )
                        .at_file(path)
                        .at_start(),
                    ),
                }
            }
        }
        let apps = options.apps.as_ref().map(|provider| provider());
        checks::finish(
            &mut set,
            raw_ons,
            raw_tasks,
            raw_schedules,
            apps.as_ref(),
            &mut diags,
        );
        set.files = files;
        set.diagnostics = diags;
        set
    }
}

fn unterminated_heredoc(src: &SourceFile, u: &heredoc::Unterminated) -> Diagnostic {
    let marker = &u.marker;
    let help = match &u.near_miss {
        Some(line) => format!(
            "`{}` does not close it because something follows the marker; put `{marker}` on a line of its own (a comment can go on the next line)",
            src.text[line.clone()].trim()
        ),
        None => format!("end the heredoc with a line holding only `{marker}`"),
    };
    Diagnostic::error(
        "Unterminated template string",
        format!(
            "No closing marker was found for the heredoc `{}`: HCL ends a heredoc only at a line that holds `{marker}` and nothing else.",
            &src.text[u.opener.clone()]
        ),
    )
    .with_help(help)
    .at(src, Some(u.opener.clone()))
}

fn too_deep(src: &SourceFile, at: std::ops::Range<usize>) -> Diagnostic {
    Diagnostic::error(
        "Nesting too deep",
        format!(
            "Brackets are nested more than {} levels deep here; Hops does not parse files nested deeper.",
            nesting::MAX_NESTING
        ),
    )
    .with_help("split the expression into smaller ones, or close the brackets left open above")
    .at(src, Some(at))
}

fn syntax_error(src: &SourceFile, e: &hcl_edit::parser::Error) -> Diagnostic {
    let loc = e.location();
    let start = src.offset(loc.line(), loc.column());
    let end = (start + 1).min(src.text.len()).max(start);
    Diagnostic::error("Invalid HCL syntax", e.message().to_owned()).at(src, Some(start..end))
}

/// Keys a manifest may have, and those of each of its steps.
const MANIFEST_KEYS: &[&str] = &[
    "name",
    "version",
    "description",
    "emoji",
    "required_apps",
    "tags",
    "steps",
];
const STEP_KEYS: &[&str] = &["title", "instructions", "emoji"];

/// Parses a manifest; what the original engine ignored (unknown keys, steps without a
/// title) comes back as warnings instead of failing the load.
fn parse_manifest(bytes: &[u8]) -> Result<(Manifest, Vec<String>), String> {
    let raw: serde_yaml::Value = serde_yaml::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut warnings = Vec::new();
    let unknown = |map: &serde_yaml::Mapping, known: &[&str], at: &str, out: &mut Vec<String>| {
        for key in map.keys() {
            let key = key.as_str().unwrap_or_default();
            if !known.contains(&key) {
                let hint = checks::closest(key, known.iter().copied())
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                out.push(format!(
                    "unknown key `{key}`{at} is ignored{hint}; manifests have {}",
                    known.join(", ")
                ));
            }
        }
    };
    if let Some(map) = raw.as_mapping() {
        unknown(map, MANIFEST_KEYS, "", &mut warnings);
        if let Some(steps) = map.get("steps").and_then(serde_yaml::Value::as_sequence) {
            for (i, step) in steps.iter().enumerate() {
                if let Some(step) = step.as_mapping() {
                    unknown(step, STEP_KEYS, &format!(" in steps[{i}]"), &mut warnings);
                }
            }
        }
    }
    let m: Manifest = serde_yaml::from_value(raw).map_err(|e| e.to_string())?;
    if m.name.trim().is_empty() {
        return Err("`name` must not be empty".to_owned());
    }
    if m.version.trim().is_empty() {
        return Err("`version` must not be empty".to_owned());
    }
    if m.description
        .as_deref()
        .is_some_and(|d| d.trim().is_empty())
    {
        return Err("`description`, when present, must not be empty".to_owned());
    }
    for (i, step) in m.steps.iter().enumerate() {
        if step.title.trim().is_empty() {
            warnings.push(format!(
                "steps[{i}] has no `title`; the console shows it untitled"
            ));
        }
    }
    Ok((m, warnings))
}

impl Diagnostic {
    /// Places a file-level diagnostic at line 1, column 1.
    fn at_start(mut self) -> Self {
        self.start = Some(crate::diagnostic::Pos { line: 1, column: 1 });
        self.end = self.start;
        self
    }
}
