//! [`EvalSettings`]: how this host evaluates pipelines — the environment they may read and the
//! budget of every evaluation — shared by the pipeline store, the runner and the API.

use std::sync::Arc;

use hops_pipeline::{EvalContext, EvalLimits, LoadOptions, PipelineEnv};

/// The environment pipelines see and what one evaluation may cost.
#[derive(Debug, Clone, Default)]
pub struct EvalSettings {
    /// What `env()` may read (`HOPS_PIPELINE_*` and the `--pipeline-env` allow-list).
    pub env: Arc<PipelineEnv>,
    /// The budget of each evaluation of one pipeline (and of each load-time value).
    pub limits: EvalLimits,
}

impl EvalSettings {
    /// The context for one evaluation of `run_id`: now, a seed derived from the run (so every
    /// evaluation of the run draws the same random values per call), these limits.
    pub fn context(&self, run_id: &str) -> EvalContext<'_> {
        EvalContext::for_run(&*self.env, run_id).with_limits(self.limits)
    }

    /// The options pipelines are loaded with (no app checks; see [`LoadOptions::apps`]).
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            env: self.env.clone(),
            limits: self.limits,
            apps: None,
        }
    }
}
