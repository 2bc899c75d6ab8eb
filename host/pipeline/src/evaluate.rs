//! The pure evaluator: (pipelines, run bundle) → decisions (spec §2, with Hops' fixes).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::bundle::RunBundle;
use crate::diagnostic::Diagnostic;
use crate::expr::{EvalError, Evaluator, Expr, ExprKind, Scope, Vars};
use crate::functions::{EvalContext, FnCtx};
use crate::model::{On, PipelineSet, RetryPolicy};

/// A call to request now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dispatch {
    /// Slug of the pipeline it belongs to.
    pub on: String,
    /// Call slug (`<on slug>-<name>`): the subject token of its request and result.
    pub call: String,
    /// Call name inside the pipeline.
    pub name: String,
    /// App.
    pub app: String,
    /// Handler.
    pub handler: String,
    /// Evaluated inputs; `None` when the pipeline gave none (empty request body).
    pub inputs: Option<Value>,
    /// Per-call timeout.
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_ms")]
    pub timeout: Option<Duration>,
    /// Per-call retry policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
}

/// A pipeline that reached its end in this evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoneDecision {
    /// Pipeline slug.
    pub on: String,
    /// True when it errored.
    pub errored: bool,
    /// Why it errored, when known (a diagnostic for broken pipelines).
    pub error: Option<String>,
}

/// Where a matching pipeline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PipelineStatus {
    /// Still has calls to make or results to wait for.
    Running,
    /// Done, successfully.
    Completed,
    /// Done, with an error.
    Errored,
}

/// A matching pipeline and its status after this evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelineState {
    /// Pipeline slug.
    pub name: String,
    /// Status.
    pub status: PipelineStatus,
}

/// Everything an evaluation decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decisions {
    /// New calls to request (calls already requested are not repeated).
    pub calls: Vec<Dispatch>,
    /// Pipelines that became done now.
    pub done: Vec<DoneDecision>,
    /// Every matching pipeline, in matching order.
    pub pipelines: Vec<PipelineState>,
    /// Problems found while evaluating (each also ends its pipeline as errored).
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

impl Decisions {
    /// The run's status: running while any matching pipeline runs; errored if any errored.
    /// A run that matched no pipeline is completed.
    pub fn run_status(&self) -> PipelineStatus {
        if self
            .pipelines
            .iter()
            .any(|p| p.status == PipelineStatus::Running)
        {
            PipelineStatus::Running
        } else if self
            .pipelines
            .iter()
            .any(|p| p.status == PipelineStatus::Errored)
        {
            PipelineStatus::Errored
        } else {
            PipelineStatus::Completed
        }
    }
}

/// The bundle cannot be evaluated at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The source event is unusable.
    #[error("Unable to parse source event: {0}")]
    BadEvent(String),
}

/// Evaluates every pipeline that matches the bundle's event.
///
/// Semantics (original engine §2 with Hops' fixes): matching order is `<event>_<action>` then
/// `<event>` pipelines; an `if` that errors is false, a non-bool `if`/`done` or a failing `inputs`
/// ends *that* pipeline as errored with a diagnostic while the others go on; the first `done`
/// block with a true flag ends a pipeline; otherwise a pipeline is done when every call it
/// requested has a result and nothing new is dispatchable (errored if any result errored); a
/// pipeline with a done marker is finished and never dispatches again.
///
/// Each pipeline is evaluated under its own budget (`ctx.limits`): one that goes over it ends
/// errored, naming the expression and the limit, and the others go on.
pub fn evaluate(
    set: &PipelineSet,
    bundle: &RunBundle,
    ctx: &EvalContext<'_>,
) -> Result<Decisions, BundleError> {
    let meta = hops_core::EventMeta::of(&bundle.event)
        .map_err(|e| BundleError::BadEvent(e.to_string()))?;
    let pin = bundle.pin.clone().map_or(Value::Null, Value::String);
    let mut out = Decisions::default();
    for on in set.candidates(&meta.event, &meta.action) {
        evaluate_on(set, on, bundle, &pin, ctx, &mut out);
    }
    Ok(out)
}

/// Root variables of one pipeline: `event`, `hops`, its own call results (hoisted), and the
/// results of other pipelines it reads.
struct OnVars<'b> {
    event: &'b Value,
    pin: &'b Value,
    /// By call name; a map, since a pipeline of many calls looks its results up many times
    /// per evaluation.
    own: HashMap<&'b str, &'b Value>,
    others: Vec<(&'b str, Value)>,
}

impl Vars for OnVars<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        if let Some(v) = self.own.get(name) {
            return Some(v);
        }
        match name {
            "event" => Some(self.event),
            "hops" => Some(self.pin),
            _ => self.others.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
        }
    }
}

/// The outcome of a condition: `if` treats `Unset` (absent or null) as true, `done` flags as false.
enum Flag {
    True,
    False,
    Unset,
    Broken(Diagnostic),
}

fn evaluate_on(
    set: &PipelineSet,
    on: &On,
    bundle: &RunBundle,
    pin: &Value,
    ctx: &EvalContext<'_>,
    out: &mut Decisions,
) {
    let state = |status| PipelineState {
        name: on.slug.clone(),
        status,
    };
    if let Some(marker) = bundle.done.get(&on.slug) {
        let errored = marker
            .get("errored")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        out.pipelines.push(state(if errored {
            PipelineStatus::Errored
        } else {
            PipelineStatus::Completed
        }));
        return;
    }
    let own = on
        .calls
        .iter()
        .filter_map(|c| bundle.results.get(&c.slug).map(|r| (c.name.as_str(), r)))
        .collect();
    let others = on
        .reads_pipelines
        .iter()
        .map(|slug| {
            let prefix = format!("{slug}-");
            let obj: Map<String, Value> = bundle
                .results
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(&prefix)
                        .map(|name| (name.to_owned(), v.clone()))
                })
                .collect();
            (slug.as_str(), Value::Object(obj))
        })
        .collect();
    let vars = OnVars {
        event: &bundle.event,
        pin,
        own,
        others,
    };
    let scope = Scope::new(&vars);
    let fn_ctx = FnCtx::new(&set.files, Some(on.origin.dir()), ctx, &on.slug);
    let ev = Evaluator::new(&fn_ctx);
    let locate = |d: Diagnostic, span| match set.sources.get(&on.origin.file) {
        Some(src) => d.at(src, span),
        None => d.at_file(&on.origin.file),
    };
    let flag = |expr: &Option<Expr>, what: &str| -> Flag {
        let Some(expr) = expr else { return Flag::Unset };
        match ev.eval(expr, &scope) {
            Ok(v) => match v.as_ref() {
                Value::Bool(true) => Flag::True,
                Value::Bool(false) => Flag::False,
                Value::Null => Flag::Unset,
                other => Flag::Broken(locate(
                    Diagnostic::error(
                        "Must be true, false or unset",
                        format!(
                            "{what} must evaluate to either true or false if set, got {}",
                            crate::value::type_name(other)
                        ),
                    ),
                    expr.span.clone(),
                )),
            },
            // An error reads as false (that is how `if = build.completed` waits), but a spent
            // budget is no answer at all: the pipeline ends errored.
            Err(e) if e.over_budget => Flag::Broken(budget_diagnostic(what, &e, &locate)),
            Err(_) => Flag::False,
        }
    };
    let broken = |d: Diagnostic, out: &mut Decisions| {
        out.done.push(DoneDecision {
            on: on.slug.clone(),
            errored: true,
            error: Some(d.one_line()),
        });
        out.diagnostics.push(d);
        out.pipelines.push(state(PipelineStatus::Errored));
    };

    // `if` unset or null is true; an error is false (the pipeline does not match).
    match flag(&on.condition, "The pipeline's `if`") {
        Flag::True | Flag::Unset => {}
        Flag::False => return,
        Flag::Broken(d) => return broken(d, out),
    }

    for done in &on.dones {
        let errored = match flag(&done.errored, "`errored`") {
            Flag::Broken(d) => return broken(d, out),
            f => matches!(f, Flag::True),
        };
        let completed = match flag(&done.completed, "`completed`") {
            Flag::Broken(d) => return broken(d, out),
            f => matches!(f, Flag::True),
        };
        if errored || completed {
            let error = errored.then(|| "Pipeline errored".to_owned());
            out.done.push(DoneDecision {
                on: on.slug.clone(),
                errored,
                error,
            });
            out.pipelines.push(state(if errored {
                PipelineStatus::Errored
            } else {
                PipelineStatus::Completed
            }));
            return;
        }
    }

    let mut new_calls = Vec::new();
    let mut waiting = false;
    for call in &on.calls {
        let result = bundle.results.get(&call.slug);
        let dispatchable = match flag(&call.condition, &format!("The `if` of call {}", call.name)) {
            Flag::True | Flag::Unset => true,
            Flag::False => false,
            Flag::Broken(d) => return broken(d, out),
        };
        if result.is_some() {
            continue;
        }
        if bundle.requested.contains(&call.slug) {
            waiting = true;
            continue;
        }
        if !dispatchable {
            continue;
        }
        // Each call draws its own random values (`uuid()`), the same on every evaluation.
        fn_ctx.reseed(ctx.seed, &call.slug);
        let inputs = match &call.inputs {
            None => None,
            Some(expr) => match ev.eval(expr, &scope) {
                Ok(v) if v.is_null() => None,
                Ok(v) => Some(v.into_owned()),
                Err(e) => return broken(inputs_error(on, &call.name, expr, e, &locate), out),
            },
        };
        new_calls.push(Dispatch {
            on: on.slug.clone(),
            call: call.slug.clone(),
            name: call.name.clone(),
            app: call.app.clone(),
            handler: call.handler.clone(),
            inputs,
            timeout: call.timeout,
            retry: call.retry,
        });
    }
    if new_calls.is_empty() && !waiting {
        let errored = on
            .calls
            .iter()
            .filter_map(|c| bundle.results.get(&c.slug))
            .any(|r| r.get("errored").and_then(Value::as_bool) == Some(true));
        let error = errored.then(|| "Pipeline errored: a call errored".to_owned());
        out.done.push(DoneDecision {
            on: on.slug.clone(),
            errored,
            error,
        });
        out.pipelines.push(state(if errored {
            PipelineStatus::Errored
        } else {
            PipelineStatus::Completed
        }));
        return;
    }
    out.calls.extend(new_calls);
    out.pipelines.push(state(PipelineStatus::Running));
}

fn budget_diagnostic(
    what: &str,
    e: &EvalError,
    locate: &dyn Fn(Diagnostic, Option<std::ops::Range<usize>>) -> Diagnostic,
) -> Diagnostic {
    let d = Diagnostic::error(
        "Evaluation budget exceeded",
        format!("{what}: {}", e.message),
    )
    .with_help("make the expression produce less (filter earlier, drop a nested `for`), or raise the limit on the host");
    locate(d, e.span.clone())
}

fn inputs_error(
    on: &On,
    call: &str,
    expr: &Expr,
    e: EvalError,
    locate: &dyn Fn(Diagnostic, Option<std::ops::Range<usize>>) -> Diagnostic,
) -> Diagnostic {
    if e.over_budget {
        return budget_diagnostic(&format!("the inputs of call `{call}`"), &e, locate);
    }
    // A reference to a sibling call that has no result yet is the usual cause: say how to wait.
    let mut help = String::new();
    expr.walk(&mut |sub| {
        if help.is_empty()
            && let ExprKind::Var(name) = &sub.kind
            && on.calls.iter().any(|c| &c.name == name)
            && e.message.contains(&format!("\"{name}\""))
        {
            help = format!("call `{name}` has no result yet; add `if = {name}.completed` to call `{call}` to wait for it");
        }
    });
    let d = Diagnostic::error(
        format!("Unable to evaluate inputs of call `{call}`"),
        e.message,
    )
    .with_help(help);
    locate(d, e.span.or_else(|| expr.span.clone()))
}

mod opt_ms {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_millis() as u64),
            None => s.serialize_none(),
        }
    }
}
