//! The Hops pipeline language.
//!
//! `.hops` files (HCL) are loaded from a directory into a [`PipelineSet`] with
//! [`Diagnostic`]s, and evaluated by the pure [`evaluate`] function over a run's
//! [`RunBundle`] (its event and the results so far) into [`Decisions`]: which calls to dispatch
//! and which pipelines are done. No I/O happens during evaluation, so the runner can call it on
//! every message of a run and tests can replay runs step by step.

pub mod budget;
pub mod diagnostic;
pub mod duration;
pub mod expr;
pub mod functions;
pub mod value;

pub use diagnostic::{Diagnostic, Pos, Severity, SourceFile};
pub mod cron;
mod decode;
pub use decode::{AppsProvider, KnownApps, LoadOptions, title_case};
pub mod load;
pub mod model;
pub mod params;

pub use model::{
    Call, Done, Manifest, On, Param, ParamType, PipelineSet, RetryPolicy, Schedule, Task,
};
mod bundle;
mod evaluate;

pub use budget::{EvalLimits, Exceeded, Limit};
pub use bundle::RunBundle;
pub use evaluate::{
    BundleError, Decisions, Dispatch, DoneDecision, PipelineState, PipelineStatus, evaluate,
};
pub use functions::{Env, EnvAccess, EvalContext, PIPELINE_ENV_PREFIX, PipelineEnv};
