//! Files → [`PipelineSet`]: parse, decode each block, assign slugs, check names and references.

mod blocks;
mod checks;
mod reader;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::budget::EvalLimits;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::functions::{Env, Files, PipelineEnv};
use crate::load::LoadedFiles;
use crate::model::{Manifest, PipelineSet};

/// How pipelines are loaded and checked: the environment `env()` sees (load-time values use
/// it, and literal names it hides or refuses are reported), and the budget of every load-time
/// evaluation.
#[derive(Clone)]
pub struct LoadOptions {
    /// What `env()` may read.
    pub env: Arc<dyn Env>,
    /// Budget of each load-time evaluation; its `max_depth` bounds every expression.
    pub limits: EvalLimits,
}

impl Default for LoadOptions {
    /// The default pipeline environment (`HOPS_PIPELINE_*` only) and the default limits.
    fn default() -> Self {
        LoadOptions {
            env: Arc::new(PipelineEnv::new()),
            limits: EvalLimits::default(),
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
                match hcl_edit::parser::parse_body(text) {
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
                    Ok(m) => {
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
        checks::finish(&mut set, raw_ons, raw_tasks, raw_schedules, &mut diags);
        set.files = files;
        set.diagnostics = diags;
        set
    }
}

fn syntax_error(src: &SourceFile, e: &hcl_edit::parser::Error) -> Diagnostic {
    let loc = e.location();
    let start = src.offset(loc.line(), loc.column());
    let end = (start + 1).min(src.text.len()).max(start);
    Diagnostic::error("Invalid HCL syntax", e.message().to_owned()).at(src, Some(start..end))
}

fn parse_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    let m: Manifest = serde_yaml::from_slice(bytes).map_err(|e| e.to_string())?;
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
    if let Some(i) = m.steps.iter().position(|s| s.title.trim().is_empty()) {
        return Err(format!("steps[{i}].title must not be empty"));
    }
    Ok(m)
}

impl Diagnostic {
    /// Places a file-level diagnostic at line 1, column 1.
    fn at_start(mut self) -> Self {
        self.start = Some(crate::diagnostic::Pos { line: 1, column: 1 });
        self.end = self.start;
        self
    }
}
