//! The expression language: a compact tree compiled once from hcl-edit's syntax tree, evaluated
//! many times (every message of every run), with byte spans kept for error messages.

mod compile;
mod eval;
mod template;

use std::ops::Range;

use serde_json::Value;

pub use compile::{compile, root_variables};
pub use eval::{EvalError, Evaluator, Scope, Vars};

/// An expression with its byte span in the source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is in its file.
    pub span: Option<Range<usize>>,
}

/// The kinds of expression HCL has.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A constant.
    Literal(Value),
    /// `[a, b]`.
    Array(Vec<Expr>),
    /// `{ k = v }`; keys are expressions (bare identifiers compile to string literals).
    Object(Vec<(Expr, Expr)>),
    /// A string with interpolations or directives.
    Template(Vec<Part>),
    /// A root variable.
    Var(String),
    /// `expr.attr[index][*]…`.
    Traversal(Box<Expr>, Vec<Step>),
    /// A function call; `func` is resolved at compile time (None when unknown).
    Call {
        /// Function name as written.
        name: String,
        /// Resolved function.
        func: Option<&'static crate::functions::FuncSpec>,
        /// Arguments.
        args: Vec<Expr>,
        /// `f(list...)`: the last argument is expanded into arguments.
        expand_final: bool,
    },
    /// `try(a, b, …)`: the first argument that evaluates without error.
    Try(Vec<Expr>),
    /// `can(expr)`: whether `expr` evaluates without error.
    Can(Box<Expr>),
    /// `cond ? a : b`.
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `-x`, `!x`.
    Unary(UnaryOp, Box<Expr>),
    /// `a op b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `[for …]` / `{for …}`.
    For(Box<ForExpr>),
}

/// A template part.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Literal text (escapes already decoded, strip markers applied).
    Literal(String),
    /// `${expr}`.
    Interpolation(Expr),
    /// `%{ if cond }…%{ else }…%{ endif }`.
    If(Expr, Vec<Part>, Vec<Part>),
    /// `%{ for k, v in coll }…%{ endfor }`.
    For {
        /// Key variable, if named.
        key_var: Option<String>,
        /// Value variable.
        value_var: String,
        /// Collection to iterate.
        collection: Expr,
        /// Body.
        body: Vec<Part>,
    },
}

/// One traversal step.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `.name`.
    Attr(String),
    /// `[expr]` (also legacy `.0`).
    Index(Expr),
    /// `.*`: following attribute steps apply to each element.
    AttrSplat,
    /// `[*]`: every following step applies to each element.
    FullSplat,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`.
    Neg,
    /// `!`.
    Not,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `==`.
    Eq,
    /// `!=`.
    NotEq,
    /// `<`.
    Less,
    /// `<=`.
    LessEq,
    /// `>`.
    Greater,
    /// `>=`.
    GreaterEq,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `&&`.
    And,
    /// `||`.
    Or,
}

/// `[for k, v in coll : value if cond]` or `{for k, v in coll : key => value... if cond}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForExpr {
    /// Key (or index) variable, if named.
    pub key_var: Option<String>,
    /// Value variable.
    pub value_var: String,
    /// Collection to iterate.
    pub collection: Expr,
    /// Key expression (object form only).
    pub key: Option<Expr>,
    /// Value expression.
    pub value: Expr,
    /// `...` grouping (object form only).
    pub grouping: bool,
    /// Filter.
    pub cond: Option<Expr>,
}

impl Expr {
    /// A literal without a span.
    pub fn literal(value: Value) -> Self {
        Expr {
            kind: ExprKind::Literal(value),
            span: None,
        }
    }

    /// How deeply this expression nests (a literal is 1). Bounded when pipelines load, so the
    /// evaluator's recursion stays shallow whatever a file says.
    pub fn depth(&self) -> usize {
        fn parts_depth(parts: &[Part]) -> usize {
            parts
                .iter()
                .map(|part| match part {
                    Part::Literal(_) => 0,
                    Part::Interpolation(e) => e.depth(),
                    Part::If(c, a, b) => c.depth().max(parts_depth(a)).max(parts_depth(b)) + 1,
                    Part::For {
                        collection, body, ..
                    } => collection.depth().max(parts_depth(body)) + 1,
                })
                .max()
                .unwrap_or(0)
        }
        let inner = match &self.kind {
            ExprKind::Literal(_) | ExprKind::Var(_) => 0,
            ExprKind::Array(items) | ExprKind::Try(items) | ExprKind::Call { args: items, .. } => {
                items.iter().map(Expr::depth).max().unwrap_or(0)
            }
            ExprKind::Object(items) => items
                .iter()
                .map(|(k, v)| k.depth().max(v.depth()))
                .max()
                .unwrap_or(0),
            ExprKind::Template(parts) => parts_depth(parts),
            ExprKind::Traversal(base, steps) => steps
                .iter()
                .map(|s| match s {
                    Step::Index(e) => e.depth(),
                    _ => 0,
                })
                .fold(base.depth(), usize::max),
            ExprKind::Can(e) | ExprKind::Unary(_, e) => e.depth(),
            ExprKind::Conditional(a, b, c) => a.depth().max(b.depth()).max(c.depth()),
            ExprKind::Binary(_, a, b) => a.depth().max(b.depth()),
            ExprKind::For(fe) => [
                Some(&fe.collection),
                fe.key.as_ref(),
                Some(&fe.value),
                fe.cond.as_ref(),
            ]
            .into_iter()
            .flatten()
            .map(Expr::depth)
            .max()
            .unwrap_or(0),
        };
        inner + 1
    }

    /// Calls `f` on each direct sub-expression (template parts included).
    pub fn children<'e>(&'e self, f: &mut dyn FnMut(&'e Expr)) {
        fn of_parts<'e>(list: &'e [Part], f: &mut dyn FnMut(&'e Expr)) {
            for part in list {
                match part {
                    Part::Literal(_) => {}
                    Part::Interpolation(e) => f(e),
                    Part::If(c, a, b) => {
                        f(c);
                        of_parts(a, f);
                        of_parts(b, f);
                    }
                    Part::For {
                        collection, body, ..
                    } => {
                        f(collection);
                        of_parts(body, f);
                    }
                }
            }
        }
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Var(_) => {}
            ExprKind::Array(items) | ExprKind::Try(items) | ExprKind::Call { args: items, .. } => {
                items.iter().for_each(&mut *f);
            }
            ExprKind::Object(items) => items.iter().for_each(|(k, v)| {
                f(k);
                f(v);
            }),
            ExprKind::Template(p) => of_parts(p, f),
            ExprKind::Traversal(base, steps) => {
                f(base);
                for step in steps {
                    if let Step::Index(e) = step {
                        f(e);
                    }
                }
            }
            ExprKind::Can(e) | ExprKind::Unary(_, e) => f(e),
            ExprKind::Conditional(a, b, c) => {
                f(a);
                f(b);
                f(c);
            }
            ExprKind::Binary(_, a, b) => {
                f(a);
                f(b);
            }
            ExprKind::For(fe) => {
                f(&fe.collection);
                if let Some(k) = &fe.key {
                    f(k);
                }
                f(&fe.value);
                if let Some(c) = &fe.cond {
                    f(c);
                }
            }
        }
    }

    /// Visits this expression and every sub-expression, outermost first.
    pub fn walk<'e>(&'e self, f: &mut dyn FnMut(&'e Expr)) {
        f(self);
        self.children(&mut |child| child.walk(f));
    }
}
