//! The evaluator: [`Expr`] × [`Scope`] → JSON value, or an error with a span.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::{Map, Value};

use super::{BinaryOp, Expr, ExprKind, ForExpr, Step, UnaryOp};
use crate::budget::Exceeded;
use crate::functions::FnCtx;
use crate::value::{self, type_name};

/// An evaluation failure, located at the sub-expression that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    /// What went wrong.
    pub message: String,
    /// Where, when known.
    pub span: Option<Range<usize>>,
    /// The evaluation went over its budget. Such an error is never swallowed: not by `try`,
    /// not by `can`, not by an `if` that reads errors as false.
    pub over_budget: bool,
}

impl EvalError {
    /// An error at `span`.
    pub fn new(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        EvalError {
            message: message.into(),
            span,
            over_budget: false,
        }
    }

    /// The budget ran out at `span`.
    pub fn budget(exceeded: &Exceeded, span: Option<Range<usize>>) -> Self {
        EvalError {
            message: exceeded.to_string(),
            span,
            over_budget: true,
        }
    }
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where root variables come from.
pub trait Vars {
    /// The value of root variable `name`, if it exists.
    fn get(&self, name: &str) -> Option<&Value>;
}

impl Vars for Map<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        Map::get(self, name)
    }
}

/// No variables at all (load-time evaluation).
pub struct NoVars;

impl Vars for NoVars {
    fn get(&self, _: &str) -> Option<&Value> {
        None
    }
}

/// Variables visible to an expression: the base set plus `for` loop variables.
pub struct Scope<'a> {
    base: &'a dyn Vars,
    locals: &'a [(&'a str, Cow<'a, Value>)],
    parent: Option<&'a Scope<'a>>,
}

impl<'a> Scope<'a> {
    /// A root scope over `base`.
    pub fn new(base: &'a dyn Vars) -> Self {
        Scope {
            base,
            locals: &[],
            parent: None,
        }
    }

    /// A scope with no variables.
    pub fn empty() -> Scope<'static> {
        Scope {
            base: &NoVars,
            locals: &[],
            parent: None,
        }
    }

    /// A child scope adding loop variables.
    pub fn child<'b>(&'b self, locals: &'b [(&'b str, Cow<'b, Value>)]) -> Scope<'b> {
        Scope {
            base: self.base,
            locals,
            parent: Some(self),
        }
    }

    fn lookup(&self, name: &str) -> Option<&'a Value> {
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| *n == name) {
            return Some(v.as_ref());
        }
        match self.parent {
            Some(parent) => parent.lookup(name),
            None => self.base.get(name),
        }
    }
}

/// Evaluates expressions with a function context.
pub struct Evaluator<'a> {
    /// Functions' view of the world (files, environment).
    pub ctx: &'a FnCtx<'a>,
}

type Res<'s> = Result<Cow<'s, Value>, EvalError>;

impl<'a> Evaluator<'a> {
    /// An evaluator over `ctx`.
    pub fn new(ctx: &'a FnCtx<'a>) -> Self {
        Evaluator { ctx }
    }

    /// Evaluates `expr` in `scope`. Values borrowed from the scope or the expression stay
    /// borrowed; everything built or copied is charged to the context's budget first, and an
    /// error after the budget ran out is reported as the budget's (see [`EvalError::over_budget`]).
    pub fn eval<'s>(&self, expr: &'s Expr, scope: &Scope<'s>) -> Res<'s> {
        self.eval_inner(expr, scope).map_err(|e| self.blame(e))
    }

    /// An error that happened after the budget ran out is the budget's.
    fn blame(&self, e: EvalError) -> EvalError {
        if e.over_budget {
            return e;
        }
        match self.ctx.budget.spent() {
            Some(exceeded) => EvalError::budget(&exceeded, e.span),
            None => e,
        }
    }

    /// Charges `elements` and `bytes` before producing them.
    pub(super) fn spend(
        &self,
        elements: u64,
        bytes: u64,
        span: &Option<Range<usize>>,
    ) -> Result<(), EvalError> {
        self.ctx
            .budget
            .charge(elements, bytes)
            .map_err(|e| EvalError::budget(&e, span.clone()))
    }

    /// The value, owned: a borrowed one is copied, and the copy charged.
    pub(super) fn own(
        &self,
        value: Cow<'_, Value>,
        span: &Option<Range<usize>>,
    ) -> Result<Value, EvalError> {
        match value {
            Cow::Owned(v) => Ok(v),
            Cow::Borrowed(v) => {
                self.ctx
                    .budget
                    .charge_value(v)
                    .map_err(|e| EvalError::budget(&e, span.clone()))?;
                Ok(v.clone())
            }
        }
    }

    fn eval_inner<'s>(&self, expr: &'s Expr, scope: &Scope<'s>) -> Res<'s> {
        let err = |message: String| EvalError::new(message, expr.span.clone());
        match &expr.kind {
            ExprKind::Literal(v) => Ok(Cow::Borrowed(v)),
            ExprKind::Var(name) => scope.lookup(name).map(Cow::Borrowed).ok_or_else(|| {
                err(format!(
                    "Unknown variable: There is no variable named \"{name}\"."
                ))
            }),
            ExprKind::Array(items) => {
                self.spend(items.len() as u64, 0, &expr.span)?;
                let mut values = Vec::with_capacity(items.len());
                for e in items {
                    values.push(self.own(self.eval(e, scope)?, &e.span)?);
                }
                Ok(Cow::Owned(Value::Array(values)))
            }
            ExprKind::Object(items) => {
                self.spend(items.len() as u64, 0, &expr.span)?;
                let mut map = Map::with_capacity(items.len());
                for (k, v) in items {
                    let key = self.eval(k, scope)?;
                    let key = value::to_string(&key).map_err(|m| {
                        EvalError::new(format!("Invalid object key: {m}"), k.span.clone())
                    })?;
                    self.spend(0, key.len() as u64, &k.span)?;
                    let value = self.own(self.eval(v, scope)?, &v.span)?;
                    map.insert(key, value);
                }
                Ok(Cow::Owned(Value::Object(map)))
            }
            ExprKind::Template(parts) => {
                // A template that is a single interpolation yields the value itself, as in HCL.
                if let [super::Part::Interpolation(inner)] = parts.as_slice() {
                    return self.eval(inner, scope);
                }
                let mut out = String::new();
                self.render_parts(parts, scope, &mut out)?;
                Ok(Cow::Owned(Value::String(out)))
            }
            ExprKind::Traversal(base, steps) => {
                let base = self.eval(base, scope)?;
                self.traverse(base, steps, scope)
            }
            ExprKind::Call {
                name,
                func,
                args,
                expand_final,
            } => {
                let Some(func) = func else {
                    return Err(err(format!(
                        "Call to unknown function: There is no function named \"{name}\"."
                    )));
                };
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.own(self.eval(arg, scope)?, &arg.span)?);
                }
                if *expand_final {
                    match values.pop() {
                        Some(Value::Array(rest)) => values.extend(rest),
                        Some(other) => {
                            return Err(err(format!(
                                "Invalid expanding argument value: the last argument must be a list, not {}",
                                type_name(&other)
                            )));
                        }
                        None => {}
                    }
                }
                let out = func
                    .call(self.ctx, values)
                    .map_err(|m| err(format!("Call to function \"{name}\" failed: {m}")))?;
                // What a function built is charged once it exists; functions whose output can
                // dwarf their inputs (range, setproduct, replace, …) charge before building.
                self.ctx
                    .budget
                    .charge_value(&out)
                    .map_err(|e| EvalError::budget(&e, expr.span.clone()))?;
                Ok(Cow::Owned(out))
            }
            ExprKind::Try(args) => {
                let mut failures = Vec::new();
                for arg in args {
                    match self.eval(arg, scope) {
                        Ok(v) => return Ok(v),
                        Err(e) if e.over_budget => return Err(e),
                        Err(e) => failures.push(e.message),
                    }
                }
                Err(err(format!(
                    "Call to function \"try\" failed: no expression succeeded: {}",
                    failures.join("; ")
                )))
            }
            ExprKind::Can(inner) => match self.eval(inner, scope) {
                Ok(_) => Ok(Cow::Owned(Value::Bool(true))),
                Err(e) if e.over_budget => Err(e),
                Err(_) => Ok(Cow::Owned(Value::Bool(false))),
            },
            ExprKind::Conditional(cond, a, b) => {
                let c = self.eval(cond, scope)?;
                let flag = value::to_bool(&c).map_err(|m| {
                    EvalError::new(format!("Incorrect condition type: {m}"), cond.span.clone())
                })?;
                self.eval(if flag { a } else { b }, scope)
            }
            ExprKind::Unary(op, inner) => {
                let v = self.eval(inner, scope)?;
                let out = match op {
                    UnaryOp::Not => Value::Bool(
                        !value::to_bool(&v).map_err(|m| err(format!("Invalid operand: {m}")))?,
                    ),
                    UnaryOp::Neg => match v.as_ref() {
                        Value::Number(n) if n.is_i64() => {
                            Value::from(-n.as_i64().unwrap_or_default())
                        }
                        other => value::number_from_f64(
                            -value::to_f64(other)
                                .map_err(|m| err(format!("Invalid operand: {m}")))?,
                        )
                        .map_err(err)?,
                    },
                };
                Ok(Cow::Owned(out))
            }
            ExprKind::Binary(op, lhs, rhs) => self
                .binary(*op, lhs, rhs, scope, expr.span.clone())
                .map(Cow::Owned),
            ExprKind::For(f) => self.for_expr(f, scope, expr.span.clone()).map(Cow::Owned),
        }
    }

    fn traverse<'s>(
        &self,
        mut current: Cow<'s, Value>,
        steps: &'s [Step],
        scope: &Scope<'s>,
    ) -> Res<'s> {
        let mut i = 0;
        while i < steps.len() {
            match &steps[i] {
                Step::Attr(name) => current = get_attr(current, name)?,
                Step::Index(key_expr) => {
                    let key = self.eval(key_expr, scope)?;
                    current = index(current, &key)
                        .map_err(|m| EvalError::new(m, key_expr.span.clone()))?;
                }
                Step::FullSplat => {
                    let rest = &steps[i + 1..];
                    let mut out = Vec::new();
                    for item in splat_items(current) {
                        self.spend(1, 0, &None)?;
                        out.push(self.own(self.traverse(item, rest, scope)?, &None)?);
                    }
                    return Ok(Cow::Owned(Value::Array(out)));
                }
                Step::AttrSplat => {
                    let end = steps[i + 1..]
                        .iter()
                        .position(|s| !matches!(s, Step::Attr(_)))
                        .map_or(steps.len(), |p| i + 1 + p);
                    let attrs = &steps[i + 1..end];
                    let mut out = Vec::new();
                    for item in splat_items(current) {
                        self.spend(1, 0, &None)?;
                        out.push(self.own(self.traverse(item, attrs, scope)?, &None)?);
                    }
                    current = Cow::Owned(Value::Array(out));
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(current)
    }

    fn binary<'s>(
        &self,
        op: BinaryOp,
        lhs: &'s Expr,
        rhs: &'s Expr,
        scope: &Scope<'s>,
        span: Option<Range<usize>>,
    ) -> Result<Value, EvalError> {
        let err = |m: String| EvalError::new(m, span.clone());
        let as_bool = |v: &Value, e: &Expr| {
            value::to_bool(v)
                .map_err(|m| EvalError::new(format!("Invalid operand: {m}"), e.span.clone()))
        };
        // Logical operators short-circuit, so `a.errored || b.errored` works while `b` has no result yet.
        match op {
            BinaryOp::And => {
                return Ok(Value::Bool(
                    as_bool(self.eval(lhs, scope)?.as_ref(), lhs)?
                        && as_bool(self.eval(rhs, scope)?.as_ref(), rhs)?,
                ));
            }
            BinaryOp::Or => {
                return Ok(Value::Bool(
                    as_bool(self.eval(lhs, scope)?.as_ref(), lhs)?
                        || as_bool(self.eval(rhs, scope)?.as_ref(), rhs)?,
                ));
            }
            _ => {}
        }
        let a = self.eval(lhs, scope)?;
        let b = self.eval(rhs, scope)?;
        match op {
            BinaryOp::Eq => return Ok(Value::Bool(value::equals(&a, &b))),
            BinaryOp::NotEq => return Ok(Value::Bool(!value::equals(&a, &b))),
            _ => {}
        }
        let num = |v: &Value, e: &Expr| {
            value::to_f64(v)
                .map_err(|m| EvalError::new(format!("Invalid operand: {m}"), e.span.clone()))
        };
        if let (Some(x), Some(y)) = (int(&a), int(&b)) {
            let exact = match op {
                BinaryOp::Add => x.checked_add(y),
                BinaryOp::Sub => x.checked_sub(y),
                BinaryOp::Mul => x.checked_mul(y),
                BinaryOp::Mod if y != 0 => x.checked_rem(y),
                _ => None,
            };
            if let Some(n) = exact {
                return Ok(Value::from(n));
            }
        }
        let (x, y) = (num(&a, lhs)?, num(&b, rhs)?);
        let out = match op {
            BinaryOp::Less => Value::Bool(x < y),
            BinaryOp::LessEq => Value::Bool(x <= y),
            BinaryOp::Greater => Value::Bool(x > y),
            BinaryOp::GreaterEq => Value::Bool(x >= y),
            BinaryOp::Add => value::number_from_f64(x + y).map_err(err)?,
            BinaryOp::Sub => value::number_from_f64(x - y).map_err(err)?,
            BinaryOp::Mul => value::number_from_f64(x * y).map_err(err)?,
            BinaryOp::Div if y == 0.0 => {
                return Err(err("Divide by zero: the divisor is zero".to_owned()));
            }
            BinaryOp::Div => value::number_from_f64(x / y).map_err(err)?,
            BinaryOp::Mod if y == 0.0 => {
                return Err(err("Divide by zero: the modulus is zero".to_owned()));
            }
            BinaryOp::Mod => value::number_from_f64(x % y).map_err(err)?,
            BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::And | BinaryOp::Or => Value::Null,
        };
        Ok(out)
    }

    fn for_expr<'s>(
        &self,
        f: &'s ForExpr,
        scope: &Scope<'s>,
        span: Option<Range<usize>>,
    ) -> Result<Value, EvalError> {
        let coll = self.eval(&f.collection, scope)?;
        let items: Vec<(Value, &Value)> = match coll.as_ref() {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i), v))
                .collect(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), v))
                .collect(),
            other => {
                return Err(EvalError::new(
                    format!(
                        "Iteration over non-iterable value: a {} value cannot be used as the collection in a 'for' expression",
                        type_name(other)
                    ),
                    f.collection.span.clone(),
                ));
            }
        };
        let mut list = Vec::new();
        let mut object = Map::new();
        for (key, item) in items {
            // Every iteration costs, kept or not: a filter that drops everything still works.
            self.spend(1, 0, &span)?;
            let mut locals: Vec<(&str, Cow<'_, Value>)> = Vec::with_capacity(2);
            if let Some(k) = &f.key_var {
                locals.push((k.as_str(), Cow::Owned(key)));
            }
            locals.push((f.value_var.as_str(), Cow::Borrowed(item)));
            let child = scope.child(&locals);
            if let Some(cond) = &f.cond {
                let keep = self.eval(cond, &child)?;
                if !value::to_bool(&keep).map_err(|m| {
                    EvalError::new(format!("Invalid 'for' condition: {m}"), cond.span.clone())
                })? {
                    continue;
                }
            }
            let v = self.own(self.eval(&f.value, &child)?, &f.value.span)?;
            match &f.key {
                None => list.push(v),
                Some(key_expr) => {
                    let k = self.eval(key_expr, &child)?;
                    let k = value::to_string(&k).map_err(|m| {
                        EvalError::new(format!("Invalid object key: {m}"), key_expr.span.clone())
                    })?;
                    self.spend(0, k.len() as u64, &key_expr.span)?;
                    if f.grouping {
                        if let Value::Array(group) =
                            object.entry(k).or_insert_with(|| Value::Array(Vec::new()))
                        {
                            group.push(v);
                        }
                    } else if object.contains_key(&k) {
                        return Err(EvalError::new(
                            format!(
                                "Duplicate object key: two elements produced the key \"{k}\"; use `...` after the value to group them"
                            ),
                            span,
                        ));
                    } else {
                        object.insert(k, v);
                    }
                }
            }
        }
        Ok(if f.key.is_some() {
            Value::Object(object)
        } else {
            Value::Array(list)
        })
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn get_attr<'s>(value: Cow<'s, Value>, name: &str) -> Res<'s> {
    let missing = |v: &Value| {
        let message = match v {
            Value::Null => {
                format!("Attempt to get attribute from null value: cannot read \"{name}\" of null")
            }
            Value::Object(_) => format!(
                "Unsupported attribute: This object does not have an attribute named \"{name}\"."
            ),
            other => format!(
                "Unsupported attribute: cannot read attribute \"{name}\" of a {} value",
                type_name(other)
            ),
        };
        EvalError::new(message, None)
    };
    match value {
        Cow::Borrowed(v) => v
            .as_object()
            .and_then(|m| m.get(name))
            .map(Cow::Borrowed)
            .ok_or_else(|| missing(v)),
        Cow::Owned(Value::Object(mut m)) => m
            .swap_remove(name)
            .map(Cow::Owned)
            .ok_or_else(|| missing(&Value::Object(m))),
        Cow::Owned(v) => Err(missing(&v)),
    }
}

fn index<'s>(value: Cow<'s, Value>, key: &Value) -> Result<Cow<'s, Value>, String> {
    let describe = |v: &Value| type_name(v);
    let pick = |v: &Value| -> Result<Option<usize>, String> {
        match v {
            Value::Array(items) => {
                let i = value::to_index(key).map_err(|m| format!("Invalid index: {m}"))?;
                if i < 0 || i as usize >= items.len() {
                    return Err(format!(
                        "Invalid index: the given index {i} is out of range for a list of {} elements",
                        items.len()
                    ));
                }
                Ok(Some(i as usize))
            }
            Value::Object(_) => Ok(None),
            Value::Null => Err("Attempt to index null value".to_owned()),
            other => Err(format!(
                "Invalid index: a {} value cannot be indexed",
                describe(other)
            )),
        }
    };
    let key_text = || value::to_string(key).map_err(|m| format!("Invalid index: {m}"));
    match value {
        Cow::Borrowed(v) => match pick(v)? {
            Some(i) => Ok(Cow::Borrowed(&v[i])),
            None => {
                let k = key_text()?;
                v.get(&k)
                    .map(Cow::Borrowed)
                    .ok_or_else(|| format!("Invalid index: the given key \"{k}\" does not exist"))
            }
        },
        Cow::Owned(v) => match pick(&v)? {
            Some(i) => Ok(Cow::Owned(match v {
                Value::Array(mut items) => items.swap_remove(i),
                _ => Value::Null,
            })),
            None => {
                let k = key_text()?;
                match v {
                    Value::Object(mut m) => m.swap_remove(&k).map(Cow::Owned).ok_or_else(|| {
                        format!("Invalid index: the given key \"{k}\" does not exist")
                    }),
                    _ => Err("Invalid index".to_owned()),
                }
            }
        },
    }
}

fn splat_items(value: Cow<'_, Value>) -> Vec<Cow<'_, Value>> {
    match value {
        Cow::Borrowed(Value::Array(items)) => items.iter().map(Cow::Borrowed).collect(),
        Cow::Owned(Value::Array(items)) => items.into_iter().map(Cow::Owned).collect(),
        Cow::Borrowed(Value::Null) | Cow::Owned(Value::Null) => Vec::new(),
        other => vec![other],
    }
}
