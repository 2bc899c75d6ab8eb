//! The loaded, validated shape of a pipeline set.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cron::CronSpec;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::expr::Expr;
use crate::functions::Files;

/// Every automation in a pipelines directory, merged into one namespace as in the original engine.
#[derive(Debug, Default)]
pub struct PipelineSet {
    /// Every loaded file by relative path (for `file()`/`template()` and version pinning).
    pub files: Files,
    /// Text of every `.hops` file, for rendering diagnostics.
    pub sources: BTreeMap<String, SourceFile>,
    /// Version hash over paths and contents (see [`hops_core::pipeline_set_hash`]).
    pub hash: String,
    /// Pipelines in load order (sorted path, then file order).
    pub ons: Vec<On>,
    /// Tasks in load order.
    pub tasks: Vec<Task>,
    /// Schedules in load order.
    pub schedules: Vec<Schedule>,
    /// Manifests by automation directory.
    pub manifests: BTreeMap<String, Manifest>,
    /// Everything found wrong while loading.
    pub diagnostics: Vec<Diagnostic>,
    pub(crate) index: HashMap<String, Vec<usize>>,
}

impl PipelineSet {
    /// True when any diagnostic is an error: such a set must not run.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Number of loaded files.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The task called `name`.
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// The pipeline with slug `slug`.
    pub fn on(&self, slug: &str) -> Option<&On> {
        self.ons.iter().find(|o| o.slug == slug)
    }

    /// Pipelines that may match `event`/`action`, in matching order: every `on "<event>_<action>"`
    /// then every `on "<event>"`, each in load order.
    pub fn candidates(&self, event: &str, action: &str) -> impl Iterator<Item = &On> {
        let with_action = (!action.is_empty())
            .then(|| self.index.get(&format!("{event}_{action}")))
            .flatten();
        let plain = self.index.get(event);
        with_action
            .into_iter()
            .chain(plain)
            .flatten()
            .map(|&i| &self.ons[i])
    }
}

/// Where a block came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// File path relative to the pipelines directory.
    pub file: String,
    /// Byte span of the block header/label.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

impl Origin {
    /// The directory of the file (relative, `/`-separated; empty for root-level files).
    pub fn dir(&self) -> &str {
        self.file.rsplit_once('/').map_or("", |(dir, _)| dir)
    }

    /// The automation: the first-level directory (empty for root-level files).
    pub fn automation(&self) -> &str {
        self.file.split_once('/').map_or("", |(first, _)| first)
    }
}

/// An `on` block: a pipeline.
#[derive(Debug, Clone)]
pub struct On {
    /// The event key label (`<event>` or `<event>_<action>`).
    pub label: String,
    /// `name`, if set.
    pub name: Option<String>,
    /// The slug: `name`, or label + position among all `on` blocks.
    pub slug: String,
    /// `if` condition.
    pub condition: Option<Expr>,
    /// Calls in order.
    pub calls: Vec<Call>,
    /// `done` blocks in order.
    pub dones: Vec<Done>,
    /// Where it is.
    pub origin: Origin,
    /// Other pipelines whose results this one reads (`<other slug>.<call>`).
    pub(crate) reads_pipelines: Vec<String>,
}

/// A `call` block.
#[derive(Debug, Clone)]
pub struct Call {
    /// `<app>_<handler>` label.
    pub label: String,
    /// App (label before the first `_`).
    pub app: String,
    /// Handler (label after the first `_`).
    pub handler: String,
    /// Result variable name inside the pipeline: `name`, or label + position in the pipeline.
    pub name: String,
    /// Subject token: `<on slug>-<name>`.
    pub slug: String,
    /// `if` condition.
    pub condition: Option<Expr>,
    /// `inputs`.
    pub inputs: Option<Expr>,
    /// Per-call timeout (extension).
    pub timeout: Option<Duration>,
    /// Per-call retry policy (extension).
    pub retry: Option<RetryPolicy>,
    /// Where it is.
    pub origin: Origin,
}

/// `retry { attempts = 3, backoff = "2s" }`: at most `attempts` attempts in all, waiting
/// `backoff` before the first retry and twice as long before each further one (capped at 10 min).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    /// Total attempts, including the first.
    pub attempts: u32,
    /// Delay before the first retry.
    #[serde(with = "crate::model::duration_ms")]
    pub backoff: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `next_attempt` (2-based: the first retry is attempt 2).
    pub fn delay_before(&self, next_attempt: u32) -> Duration {
        let doublings = next_attempt.saturating_sub(2).min(20);
        self.backoff
            .saturating_mul(1 << doublings)
            .min(Duration::from_secs(600))
    }
}

/// A `done` block.
#[derive(Debug, Clone)]
pub struct Done {
    /// `completed` condition.
    pub completed: Option<Expr>,
    /// `errored` condition.
    pub errored: Option<Expr>,
    /// Where it is.
    pub origin: Origin,
}

/// A `task` block: a named, parameterised manual trigger.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// Label.
    pub name: String,
    /// Display name (default: title-cased label).
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Summary.
    pub summary: String,
    /// Emoji.
    pub emoji: String,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// Defining file.
    pub filepath: String,
}

/// Parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// One-line string.
    String,
    /// Multi-line string.
    Text,
    /// Number.
    Number,
    /// Boolean.
    Bool,
}

impl ParamType {
    /// Whether `value` has this type (strictly: no conversions).
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            ParamType::String | ParamType::Text => value.is_string(),
            ParamType::Number => value.is_number(),
            ParamType::Bool => value.is_boolean(),
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Text => "text",
            ParamType::Number => "number",
            ParamType::Bool => "bool",
        }
    }
}

/// A task `param` block (also the shape of what an input asks for).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    /// Label.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Whether a value must be given (when there is no default).
    #[serde(default)]
    pub required: bool,
    /// Default value (already type-checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Help text.
    #[serde(default)]
    pub help: String,
    /// CLI flag.
    #[serde(default)]
    pub flag: String,
    /// CLI short flag.
    #[serde(default)]
    pub shortflag: String,
}

/// A `schedule` block.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Label.
    pub name: String,
    /// Parsed cron spec.
    pub cron: CronSpec,
    /// Inputs merged into every triggered event (evaluated at load).
    pub inputs: serde_json::Map<String, Value>,
    /// Where it is.
    pub origin: Origin,
}

/// An automation's `manifest.yaml`. Unknown keys are ignored with a warning, as the original
/// engine ignored them.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Human name (required).
    pub name: String,
    /// Version (required).
    pub version: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Emoji.
    #[serde(default = "default_emoji")]
    pub emoji: String,
    /// Apps the automation needs.
    #[serde(default)]
    pub required_apps: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Setup steps.
    #[serde(default)]
    pub steps: Vec<ManifestStep>,
}

/// A manifest setup step.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ManifestStep {
    /// Title (expected; a step without one gets a warning).
    #[serde(default)]
    pub title: String,
    /// Instructions.
    #[serde(default)]
    pub instructions: String,
    /// Emoji.
    #[serde(default)]
    pub emoji: String,
}

fn default_emoji() -> String {
    "⚪️".to_owned()
}

pub(crate) mod duration_ms {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}
