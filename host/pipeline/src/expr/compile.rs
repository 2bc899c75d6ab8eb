//! hcl-edit syntax tree → [`Expr`].

use std::collections::BTreeSet;

use hcl_edit::Span as _;
use hcl_edit::expr::{self as hx, Expression, ObjectKey, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use serde_json::{Number, Value};

use super::template::apply_strip;
use super::{BinaryOp, Expr, ExprKind, ForExpr, Part, Step, UnaryOp};
use crate::functions;

/// Compiles an hcl-edit expression. Unknown functions compile to calls without a resolved
/// function (reported by validation, failing if evaluated).
pub fn compile(expr: &Expression) -> Expr {
    let span = expr.span();
    let kind = match expr {
        Expression::Null(_) => ExprKind::Literal(Value::Null),
        Expression::Bool(b) => ExprKind::Literal(Value::Bool(*b.value())),
        Expression::Number(n) => ExprKind::Literal(number(n.value())),
        Expression::String(s) => ExprKind::Literal(Value::String(s.value().clone())),
        Expression::Array(items) => ExprKind::Array(items.iter().map(compile).collect()),
        Expression::Object(obj) => ExprKind::Object(
            obj.iter()
                .map(|(key, value)| {
                    let key = match key {
                        ObjectKey::Ident(ident) => Expr {
                            kind: ExprKind::Literal(Value::String(ident.value().to_string())),
                            span: ident.span(),
                        },
                        ObjectKey::Expression(e) => object_key(e),
                    };
                    (key, compile(value.expr()))
                })
                .collect(),
        ),
        Expression::StringTemplate(t) => template_kind(t.iter()),
        Expression::HeredocTemplate(h) => template_kind(h.template.iter()),
        Expression::Parenthesis(p) => return compile(p.inner()),
        Expression::Variable(v) => ExprKind::Var(v.value().to_string()),
        Expression::Conditional(c) => ExprKind::Conditional(
            Box::new(compile(&c.cond_expr)),
            Box::new(compile(&c.true_expr)),
            Box::new(compile(&c.false_expr)),
        ),
        Expression::FuncCall(call) => func_call(call),
        Expression::Traversal(t) => {
            let steps = t
                .operators
                .iter()
                .map(|op| match op.value() {
                    TraversalOperator::AttrSplat(_) => Step::AttrSplat,
                    TraversalOperator::FullSplat(_) => Step::FullSplat,
                    TraversalOperator::GetAttr(ident) => Step::Attr(ident.value().to_string()),
                    TraversalOperator::Index(e) => Step::Index(compile(e)),
                    TraversalOperator::LegacyIndex(i) => Step::Index(Expr {
                        kind: ExprKind::Literal(Value::Number(Number::from(*i.value()))),
                        span: i.span(),
                    }),
                })
                .collect();
            ExprKind::Traversal(Box::new(compile(&t.expr)), steps)
        }
        Expression::UnaryOp(op) => {
            let operator = match op.operator.value() {
                hx::UnaryOperator::Neg => UnaryOp::Neg,
                hx::UnaryOperator::Not => UnaryOp::Not,
            };
            ExprKind::Unary(operator, Box::new(compile(&op.expr)))
        }
        Expression::BinaryOp(op) => {
            use hx::BinaryOperator as B;
            let operator = match op.operator.value() {
                B::Eq => BinaryOp::Eq,
                B::NotEq => BinaryOp::NotEq,
                B::LessEq => BinaryOp::LessEq,
                B::GreaterEq => BinaryOp::GreaterEq,
                B::Less => BinaryOp::Less,
                B::Greater => BinaryOp::Greater,
                B::Plus => BinaryOp::Add,
                B::Minus => BinaryOp::Sub,
                B::Mul => BinaryOp::Mul,
                B::Div => BinaryOp::Div,
                B::Mod => BinaryOp::Mod,
                B::And => BinaryOp::And,
                B::Or => BinaryOp::Or,
            };
            ExprKind::Binary(
                operator,
                Box::new(compile(&op.lhs_expr)),
                Box::new(compile(&op.rhs_expr)),
            )
        }
        Expression::ForExpr(f) => ExprKind::For(Box::new(ForExpr {
            key_var: f.intro.key_var.as_ref().map(|k| k.value().to_string()),
            value_var: f.intro.value_var.value().to_string(),
            collection: compile(&f.intro.collection_expr),
            key: f.key_expr.as_ref().map(compile),
            value: compile(&f.value_expr),
            grouping: f.grouping,
            cond: f.cond.as_ref().map(|c| compile(&c.expr)),
        })),
    };
    Expr { kind, span }
}

/// Object keys written as bare words (`{ foo = 1 }` where `foo` parses as a variable) are
/// strings, as in HCL; parenthesised or other expressions are evaluated.
fn object_key(e: &Expression) -> Expr {
    match e {
        Expression::Variable(v) => Expr {
            kind: ExprKind::Literal(Value::String(v.value().to_string())),
            span: e.span(),
        },
        other => compile(other),
    }
}

fn number(n: &hcl_edit::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(Number::from(i))
    } else if let Some(u) = n.as_u64() {
        Value::Number(Number::from(u))
    } else {
        n.as_f64()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number)
    }
}

fn func_call(call: &hx::FuncCall) -> ExprKind {
    let mut name = String::new();
    for ns in &call.name.namespace {
        name.push_str(ns.value().as_str());
        name.push_str("::");
    }
    name.push_str(call.name.name.value().as_str());
    let args: Vec<Expr> = call.args.iter().map(compile).collect();
    match name.as_str() {
        "try" => ExprKind::Try(args),
        "can" if args.len() == 1 => ExprKind::Can(Box::new(
            args.into_iter()
                .next()
                .unwrap_or_else(|| Expr::literal(Value::Null)),
        )),
        // `can()` or `can(a, b)`: an arity error that names `can`, like any other function's.
        "can" => ExprKind::Call {
            name,
            func: Some(&functions::CAN_ARITY),
            args,
            expand_final: call.args.expand_final(),
        },
        _ => {
            let func = functions::lookup(&name);
            ExprKind::Call {
                name,
                func,
                args,
                expand_final: call.args.expand_final(),
            }
        }
    }
}

fn template_kind<'a>(elements: impl Iterator<Item = &'a Element>) -> ExprKind {
    let parts = template_parts(elements);
    match parts.as_slice() {
        [] => ExprKind::Literal(Value::String(String::new())),
        [Part::Literal(text)] => ExprKind::Literal(Value::String(text.clone())),
        _ => ExprKind::Template(parts),
    }
}

fn template_parts<'a>(elements: impl Iterator<Item = &'a Element>) -> Vec<Part> {
    let mut parts = Vec::new();
    // (index of the part, strip before, strip after) for every non-literal part
    let mut strips = Vec::new();
    for element in elements {
        match element {
            Element::Literal(text) => parts.push(Part::Literal(text.value().clone())),
            Element::Interpolation(i) => {
                strips.push((parts.len(), i.strip.strip_start(), i.strip.strip_end()));
                parts.push(Part::Interpolation(compile(&i.expr)));
            }
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    let (mut then, mut otherwise) =
                        (template_parts_of(&d.if_expr.template), Vec::new());
                    // Markers inside the directive strip the edges of its branches.
                    let endif = d.endif_expr.strip;
                    if d.if_expr.strip.strip_end() {
                        trim_start_first(&mut then);
                    }
                    if let Some(e) = &d.else_expr {
                        otherwise = template_parts_of(&e.template);
                        if e.strip.strip_start() {
                            trim_end_last(&mut then);
                        }
                        if e.strip.strip_end() {
                            trim_start_first(&mut otherwise);
                        }
                        if endif.strip_start() {
                            trim_end_last(&mut otherwise);
                        }
                    } else if endif.strip_start() {
                        trim_end_last(&mut then);
                    }
                    strips.push((
                        parts.len(),
                        d.if_expr.strip.strip_start(),
                        endif.strip_end(),
                    ));
                    parts.push(Part::If(compile(&d.if_expr.cond_expr), then, otherwise));
                }
                Directive::For(d) => {
                    let mut body = template_parts_of(&d.for_expr.template);
                    if d.for_expr.strip.strip_end() {
                        trim_start_first(&mut body);
                    }
                    if d.endfor_expr.strip.strip_start() {
                        trim_end_last(&mut body);
                    }
                    strips.push((
                        parts.len(),
                        d.for_expr.strip.strip_start(),
                        d.endfor_expr.strip.strip_end(),
                    ));
                    parts.push(Part::For {
                        key_var: d.for_expr.key_var.as_ref().map(|k| k.value().to_string()),
                        value_var: d.for_expr.value_var.value().to_string(),
                        collection: compile(&d.for_expr.collection_expr),
                        body,
                    });
                }
            },
        }
    }
    apply_strip(&mut parts, &strips);
    parts
}

fn template_parts_of(template: &Template) -> Vec<Part> {
    template_parts(template.iter())
}

fn trim_start_first(parts: &mut [Part]) {
    if let Some(Part::Literal(text)) = parts.first_mut() {
        *text = text.trim_start().to_owned();
    }
}

fn trim_end_last(parts: &mut [Part]) {
    if let Some(Part::Literal(text)) = parts.last_mut() {
        *text = text.trim_end().to_owned();
    }
}

/// The root variable names an expression reads (excluding `for` loop variables), with the span
/// of their first use.
pub fn root_variables(expr: &Expr) -> Vec<(String, Option<std::ops::Range<usize>>)> {
    let mut out = Vec::new();
    collect_roots(expr, &mut BTreeSet::new(), &mut out);
    out
}

fn collect_roots(
    expr: &Expr,
    bound: &mut BTreeSet<String>,
    out: &mut Vec<(String, Option<std::ops::Range<usize>>)>,
) {
    let mut recurse = |e: &Expr, bound: &mut BTreeSet<String>| collect_roots(e, bound, out);
    match &expr.kind {
        ExprKind::Var(name) => {
            if !bound.contains(name) && !out.iter().any(|(n, _)| n == name) {
                out.push((name.clone(), expr.span.clone()));
            }
        }
        ExprKind::For(f) => {
            recurse(&f.collection, bound);
            let added: Vec<String> = f
                .key_var
                .iter()
                .chain(std::iter::once(&f.value_var))
                .filter(|v| bound.insert((*v).clone()))
                .cloned()
                .collect();
            if let Some(k) = &f.key {
                recurse(k, bound);
            }
            recurse(&f.value, bound);
            if let Some(c) = &f.cond {
                recurse(c, bound);
            }
            for v in added {
                bound.remove(&v);
            }
        }
        ExprKind::Template(parts) => collect_part_roots(parts, bound, out),
        _ => {
            // Direct children only: walk() would descend into nested for-expressions without
            // their loop bindings.
            let mut children: Vec<&Expr> = Vec::new();
            match &expr.kind {
                ExprKind::Array(items)
                | ExprKind::Try(items)
                | ExprKind::Call { args: items, .. } => children.extend(items),
                ExprKind::Object(items) => items.iter().for_each(|(k, v)| children.extend([k, v])),
                ExprKind::Traversal(base, steps) => {
                    children.push(base);
                    children.extend(steps.iter().filter_map(|s| {
                        if let Step::Index(e) = s {
                            Some(e)
                        } else {
                            None
                        }
                    }));
                }
                ExprKind::Can(e) | ExprKind::Unary(_, e) => children.push(e),
                ExprKind::Conditional(a, b, c) => children.extend([&**a, &**b, &**c]),
                ExprKind::Binary(_, a, b) => children.extend([&**a, &**b]),
                _ => {}
            }
            for child in children {
                collect_roots(child, bound, out);
            }
        }
    }
}

fn collect_part_roots(
    parts: &[Part],
    bound: &mut BTreeSet<String>,
    out: &mut Vec<(String, Option<std::ops::Range<usize>>)>,
) {
    for part in parts {
        match part {
            Part::Literal(_) => {}
            Part::Interpolation(e) => collect_roots(e, bound, out),
            Part::If(c, a, b) => {
                collect_roots(c, bound, out);
                collect_part_roots(a, bound, out);
                collect_part_roots(b, bound, out);
            }
            Part::For {
                key_var,
                value_var,
                collection,
                body,
            } => {
                collect_roots(collection, bound, out);
                let added: Vec<String> = key_var
                    .iter()
                    .chain(std::iter::once(value_var))
                    .filter(|v| bound.insert((*v).clone()))
                    .cloned()
                    .collect();
                collect_part_roots(body, bound, out);
                for v in added {
                    bound.remove(&v);
                }
            }
        }
    }
}
