//! The function library: the original engine's (cty stdlib + hops functions, with its naming
//! quirks kept) plus the common functions it lacked.

mod collections;
mod encoding;
mod hops;
mod numeric;
mod strings;
mod time;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use serde_json::Value;

/// The files of a pipeline set by relative path (`automation/file.txt`), for `file()`/`template()`.
pub type Files = BTreeMap<String, Arc<[u8]>>;

/// Where `env()` reads variables from.
pub trait Env: Send + Sync {
    /// The variable's value if it is set (even to the empty string).
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
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
        let ctx = FnCtx {
            files,
            dir: Some("one"),
            env,
        };
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
