//! The function library: the original engine's (cty stdlib + hops functions, with its naming
//! quirks kept) plus the common functions it lacked.

mod collections;
mod encoding;
mod hops;
mod numeric;
mod strings;
mod time;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::budget::{Budget, EvalLimits};

/// The files of a pipeline set by relative path (`automation/file.txt`), for `file()`/`template()`.
pub type Files = BTreeMap<String, Arc<[u8]>>;

/// Whether pipelines may read an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvAccess {
    /// `env()` returns its value (or the default when it is unset).
    Allowed,
    /// The host does not show it to pipelines: `env()` returns the default.
    Hidden,
    /// Never readable (the host's own settings): `env()` fails with this message.
    Refused(String),
}

/// Where `env()` reads variables from, and which it may read.
pub trait Env: Send + Sync {
    /// The variable's value if it is set (even to the empty string) and visible.
    fn var(&self, name: &str) -> Option<String>;

    /// Whether pipelines may read `name`. Everything is allowed unless an implementation says
    /// otherwise ([`PipelineEnv`] does).
    fn access(&self, _name: &str) -> EnvAccess {
        EnvAccess::Allowed
    }
}

/// The prefix of variables every pipeline may read without an allow-list entry.
pub const PIPELINE_ENV_PREFIX: &str = "HOPS_PIPELINE_";

/// The host environment as pipelines see it: variables named `HOPS_PIPELINE_*`, plus the
/// names of an allow-list (`--pipeline-env`). Hops' own settings (`HOPS_*`) are never
/// readable, so `env("HOPS_API_TOKEN", "")` cannot leak a credential into a run record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineEnv {
    allowed: std::collections::BTreeSet<String>,
}

impl PipelineEnv {
    /// Only `HOPS_PIPELINE_*` variables.
    pub fn new() -> PipelineEnv {
        PipelineEnv::default()
    }

    /// `HOPS_PIPELINE_*` plus `names`.
    ///
    /// # Errors
    ///
    /// When a name is one of Hops' own settings (`HOPS_*` other than `HOPS_PIPELINE_*`) or not a
    /// variable name at all.
    pub fn allowing<S: AsRef<str>>(names: &[S]) -> Result<PipelineEnv, String> {
        let mut allowed = std::collections::BTreeSet::new();
        for name in names {
            let name = name.as_ref().trim();
            if name.is_empty() {
                continue;
            }
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "--pipeline-env: {name:?} is not an environment variable name (letters, digits and _)"
                ));
            }
            if is_hops_setting(name) {
                return Err(format!(
                    "--pipeline-env: {name} is one of Hops' own settings and can never be shown to pipelines; \
                     pass the value in a variable named {PIPELINE_ENV_PREFIX}… instead"
                ));
            }
            allowed.insert(name.to_owned());
        }
        Ok(PipelineEnv { allowed })
    }

    /// The allow-listed names.
    pub fn allowed(&self) -> impl Iterator<Item = &str> {
        self.allowed.iter().map(String::as_str)
    }
}

/// `HOPS_*` names other than `HOPS_PIPELINE_*`: the host's configuration.
fn is_hops_setting(name: &str) -> bool {
    name.to_ascii_uppercase().starts_with("HOPS_") && !name.starts_with(PIPELINE_ENV_PREFIX)
}

impl Env for PipelineEnv {
    fn var(&self, name: &str) -> Option<String> {
        match self.access(name) {
            EnvAccess::Allowed => std::env::var(name).ok(),
            EnvAccess::Hidden | EnvAccess::Refused(_) => None,
        }
    }

    fn access(&self, name: &str) -> EnvAccess {
        if is_hops_setting(name) {
            EnvAccess::Refused(format!(
                "env(\"{name}\") reads one of Hops' own settings, which pipelines may never see; \
                 give pipelines a variable named {PIPELINE_ENV_PREFIX}… or list another name with --pipeline-env"
            ))
        } else if name.starts_with(PIPELINE_ENV_PREFIX) || self.allowed.contains(name) {
            EnvAccess::Allowed
        } else {
            EnvAccess::Hidden
        }
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// What an evaluation sees and may spend besides the run itself: the environment, the clock,
/// the seed of its randomness and its budget. Passing the clock and the seed in (instead of
/// reading them inside functions) makes an evaluation reproducible: the same run, context and
/// pipelines give the same decisions.
#[derive(Clone, Copy)]
pub struct EvalContext<'a> {
    /// Where `env()` reads variables from.
    pub env: &'a dyn Env,
    /// What `timestamp()` and `versiontmpl()` take as now.
    pub now: DateTime<Utc>,
    /// Seed of `uuid()` and of `versiontmpl()`'s random words.
    pub seed: u64,
    /// What one evaluation of one pipeline may cost.
    pub limits: EvalLimits,
}

impl<'a> EvalContext<'a> {
    /// The current time, a random seed and the default limits.
    pub fn new(env: &'a dyn Env) -> EvalContext<'a> {
        EvalContext {
            env,
            now: Utc::now(),
            seed: rand::random(),
            limits: EvalLimits::default(),
        }
    }

    /// As [`EvalContext::new`], with the seed derived from `run_id`: every evaluation of one
    /// run draws the same random values for the same call.
    pub fn for_run(env: &'a dyn Env, run_id: &str) -> EvalContext<'a> {
        EvalContext {
            seed: seed_of(0, run_id),
            ..EvalContext::new(env)
        }
    }

    /// The same context with other limits.
    pub fn with_limits(mut self, limits: EvalLimits) -> EvalContext<'a> {
        self.limits = limits;
        self
    }
}

/// Mixes `salt` into `seed` (FNV-1a, stable across builds and platforms).
pub(crate) fn seed_of(seed: u64, salt: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in salt.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What functions can see besides their arguments.
pub struct FnCtx<'a> {
    /// Loaded files, for `file()` and `template()`.
    pub files: &'a Files,
    /// Directory (relative to the pipelines root) of the `.hops` file whose block is being
    /// evaluated; `None` where `file()`/`template()` are not available.
    pub dir: Option<&'a str>,
    /// Environment for `env()`.
    pub env: &'a dyn Env,
    /// Now, for `timestamp()` and `versiontmpl()`.
    pub now: DateTime<Utc>,
    /// Randomness for `uuid()` and `versiontmpl()`, seeded by the caller.
    pub rng: RefCell<StdRng>,
    /// What this evaluation may still produce; functions charge it before they allocate.
    pub budget: Budget,
}

impl<'a> FnCtx<'a> {
    /// A context for one evaluation under `eval` (seeded with `salt`).
    pub fn new(files: &'a Files, dir: Option<&'a str>, eval: &EvalContext<'a>, salt: &str) -> Self {
        FnCtx {
            files,
            dir,
            env: eval.env,
            now: eval.now,
            rng: RefCell::new(StdRng::seed_from_u64(seed_of(eval.seed, salt))),
            budget: Budget::new(eval.limits),
        }
    }

    /// Restarts the randomness from `seed` mixed with `salt` (per call, so each call's inputs
    /// draw their own values however many evaluations came before).
    pub fn reseed(&self, seed: u64, salt: &str) {
        *self.rng.borrow_mut() = StdRng::seed_from_u64(seed_of(seed, salt));
    }

    /// Charges `elements` values and `bytes` of text to the evaluation's budget. A function
    /// that fails with this error has spent the budget; the evaluator sees that on the budget
    /// itself, so `try` and `can` cannot swallow it.
    pub fn charge(&self, elements: u64, bytes: u64) -> Result<(), String> {
        self.budget
            .charge(elements, bytes)
            .map_err(|e| e.to_string())
    }
}

type FuncImpl = fn(&FnCtx<'_>, Vec<Value>) -> Result<Value, String>;

/// A function: its name, arity and implementation.
pub struct FuncSpec {
    /// Name used in expressions.
    pub name: &'static str,
    /// Minimum number of arguments.
    pub min_args: usize,
    /// Maximum number of arguments (`None` = variadic).
    pub max_args: Option<usize>,
    func: FuncImpl,
}

impl std::fmt::Debug for FuncSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FuncSpec({})", self.name)
    }
}

impl PartialEq for FuncSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl FuncSpec {
    /// Checks the arity and calls the function.
    pub fn call(&self, ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
        self.check_arity(args.len())?;
        (self.func)(ctx, args)
    }

    /// An error message if `n` arguments do not fit this function.
    pub fn check_arity(&self, n: usize) -> Result<(), String> {
        let expected = match self.max_args {
            Some(max) if max == self.min_args => format!("exactly {max}"),
            Some(max) => format!("{} to {max}", self.min_args),
            None => format!("at least {}", self.min_args),
        };
        if n < self.min_args || self.max_args.is_some_and(|max| n > max) {
            let plural = if expected.ends_with('1') { "" } else { "s" };
            return Err(format!(
                "{} takes {expected} argument{plural}, got {n}",
                self.name
            ));
        }
        Ok(())
    }
}

const fn f(
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    func: FuncImpl,
) -> FuncSpec {
    FuncSpec {
        name,
        min_args,
        max_args,
        func,
    }
}

static TABLE: &[FuncSpec] = &[
    // hops functions
    f("env", 2, Some(2), hops::env),
    f("glob", 2, Some(2), hops::glob),
    f("xglob", 2, Some(2), hops::xglob),
    f("alltrue", 0, None, hops::alltrue),
    f("anytrue", 0, None, hops::anytrue),
    f("versiontmpl", 1, Some(1), hops::versiontmpl),
    f("file", 1, Some(1), hops::file),
    f("template", 2, Some(2), hops::template),
    // numbers
    f("abs", 1, Some(1), numeric::abs),
    f("ceil", 1, Some(1), numeric::ceil),
    f("floor", 1, Some(1), numeric::floor),
    f("int", 1, Some(1), numeric::int),
    f("max", 1, None, numeric::max),
    f("min", 1, None, numeric::min),
    f("range", 1, Some(3), numeric::range),
    // strings
    f("chomp", 1, Some(1), strings::chomp),
    f("format", 1, None, strings::format),
    f("indent", 2, Some(2), strings::indent),
    f("join", 2, None, strings::join),
    f("lower", 1, Some(1), strings::lower),
    f("upper", 1, Some(1), strings::upper),
    f("title", 1, Some(1), strings::title),
    f("replace", 3, Some(3), strings::replace),
    f("regexreplace", 3, Some(3), strings::regexreplace),
    f("regex", 2, Some(2), strings::regex_all),
    f("reverse", 1, Some(1), strings::reverse),
    f("split", 2, Some(2), strings::split),
    f("strlen", 1, Some(1), strings::strlen),
    f("substr", 3, Some(3), strings::substr),
    f("trim", 2, Some(2), strings::trim),
    f("trimprefix", 2, Some(2), strings::trimprefix),
    f("trimsuffix", 2, Some(2), strings::trimsuffix),
    f("trimspace", 1, Some(1), strings::trimspace),
    f("contains", 2, Some(2), strings::contains),
    f("startswith", 2, Some(2), strings::startswith),
    f("endswith", 2, Some(2), strings::endswith),
    // collections
    f("coalesce", 1, None, collections::coalesce),
    f("compact", 1, Some(1), collections::compact),
    f("concat", 1, None, collections::concat),
    f("flatten", 1, Some(1), collections::flatten),
    f("index", 2, Some(2), collections::index),
    f("keys", 1, Some(1), collections::keys),
    f("values", 1, Some(1), collections::values),
    f("length", 1, Some(1), collections::length),
    f("lookup", 2, Some(3), collections::lookup),
    f("merge", 0, None, collections::merge),
    f("slice", 3, Some(3), collections::slice),
    f("sort", 1, Some(1), collections::sort),
    f("zipmap", 2, Some(2), collections::zipmap),
    f("setintersection", 1, None, collections::setintersection),
    f("setproduct", 1, None, collections::setproduct),
    f("setunion", 1, None, collections::setunion),
    f("tobool", 1, Some(1), collections::tobool),
    f("tolist", 1, Some(1), collections::tolist),
    f("tomap", 1, Some(1), collections::tomap),
    f("tonumber", 1, Some(1), collections::tonumber),
    f("toset", 1, Some(1), collections::toset),
    f("tostring", 1, Some(1), collections::tostring),
    // encoding
    f("csv", 1, Some(1), encoding::csvdecode),
    f("csvdecode", 1, Some(1), encoding::csvdecode),
    f("jsondecode", 1, Some(1), encoding::jsondecode),
    f("jsonencode", 1, Some(1), encoding::jsonencode),
    f("base64encode", 1, Some(1), encoding::base64encode),
    f("base64decode", 1, Some(1), encoding::base64decode),
    f("sha256", 1, Some(1), encoding::sha256),
    f("uuid", 0, Some(0), encoding::uuid),
    // time
    f("timestamp", 0, Some(0), time::timestamp),
    f("formatdate", 2, Some(2), time::formatdate),
    f("timeadd", 2, Some(2), time::timeadd),
];

/// `can` with a wrong number of arguments compiles to a call of this, so the error reads
/// "can takes exactly 1 argument" (a well-formed `can(x)` is its own expression kind).
pub(crate) static CAN_ARITY: FuncSpec = f("can", 1, Some(1), |_, _| {
    Err("can takes exactly 1 argument".to_owned())
});

static INDEX: LazyLock<HashMap<&'static str, &'static FuncSpec>> =
    LazyLock::new(|| TABLE.iter().map(|f| (f.name, f)).collect());

/// Finds a function by name.
pub fn lookup(name: &str) -> Option<&'static FuncSpec> {
    INDEX.get(name).copied()
}

/// Names of every function (plus `try` and `can`), sorted, for "did you mean" help.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = TABLE.iter().map(|f| f.name).chain(["try", "can"]).collect();
    names.sort_unstable();
    names
}

// Argument helpers shared by the function modules.

fn string_arg(args: &[Value], i: usize, what: &str) -> Result<String, String> {
    match args.get(i) {
        Some(Value::Null) | None => Err(format!("argument {what} must not be null")),
        Some(v) => crate::value::to_string(v).map_err(|m| format!("invalid value for {what}: {m}")),
    }
}

fn number_arg(args: &[Value], i: usize, what: &str) -> Result<f64, String> {
    match args.get(i) {
        Some(Value::Null) | None => Err(format!("argument {what} must not be null")),
        Some(v) => crate::value::to_f64(v).map_err(|m| format!("invalid value for {what}: {m}")),
    }
}

fn list_arg<'v>(args: &'v [Value], i: usize, what: &str) -> Result<&'v Vec<Value>, String> {
    match args.get(i) {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!(
            "invalid value for {what}: expected a list, got {}",
            crate::value::type_name(other)
        )),
        None => Err(format!("argument {what} is missing")),
    }
}

fn object_arg<'v>(
    args: &'v [Value],
    i: usize,
    what: &str,
) -> Result<&'v serde_json::Map<String, Value>, String> {
    match args.get(i) {
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(format!(
            "invalid value for {what}: expected an object, got {}",
            crate::value::type_name(other)
        )),
        None => Err(format!("argument {what} is missing")),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::expr::{Evaluator, Scope, compile};

    /// Evaluates `src` with no variables, the given files and environment, in directory `one`.
    pub fn eval_with(
        src: &str,
        files: &Files,
        env: &HashMap<String, String>,
    ) -> Result<Value, String> {
        let parsed = hcl_edit::parser::parse_expr(src).map_err(|e| e.to_string())?;
        let expr = compile(&parsed);
        let eval = EvalContext::new(env);
        let ctx = FnCtx::new(files, Some("one"), &eval, "test");
        Evaluator::new(&ctx)
            .eval(&expr, &Scope::empty())
            .map(|v| v.into_owned())
            .map_err(|e| e.message)
    }

    /// Evaluates `src` with no files and an empty environment.
    pub fn eval(src: &str) -> Result<Value, String> {
        eval_with(src, &Files::new(), &HashMap::new())
    }
}
