//! Generic checks on HCL bodies: allowed attributes and blocks, labels, static values.

use std::collections::BTreeMap;
use std::ops::Range;

use hcl_edit::Span as _;
use hcl_edit::structure::{Attribute, Block, BlockLabel, Body, Structure};
use serde_json::Value;

use super::LoadOptions;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::expr::{Evaluator, Expr, ExprKind, Scope, compile};
use crate::functions::{EnvAccess, EvalContext, Files, FnCtx};

/// Per-file decoding context: where diagnostics go and what functions can read.
pub(crate) struct Ctx<'a> {
    pub src: &'a SourceFile,
    pub files: &'a Files,
    pub diags: &'a mut Vec<Diagnostic>,
    pub options: &'a LoadOptions,
}

impl Ctx<'_> {
    pub fn error(
        &mut self,
        summary: &str,
        detail: impl Into<String>,
        span: Option<Range<usize>>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(summary, detail).at(self.src, span));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// The directory of this file, for `file()`/`template()`.
    pub fn dir(&self) -> &str {
        self.src.path.rsplit_once('/').map_or("", |(d, _)| d)
    }
}

/// A body split into known attributes and blocks, after reporting everything unknown.
pub(crate) struct Parts<'b> {
    pub attrs: BTreeMap<&'static str, &'b Attribute>,
    pub blocks: Vec<(&'static str, &'b Block)>,
}

/// Splits `body`, reporting unsupported or repeated attributes and unsupported blocks.
pub(crate) fn parts<'b>(
    body: &'b Body,
    what: &str,
    attrs: &[&'static str],
    blocks: &[&'static str],
    ctx: &mut Ctx<'_>,
) -> Parts<'b> {
    parts_with(body, what, attrs, blocks, false, ctx)
}

/// [`parts`], with unknown attributes reported as warnings (and ignored) when `lenient`: the
/// original engine never checked some bodies, and pipelines written for it rely on that.
pub(crate) fn parts_with<'b>(
    body: &'b Body,
    what: &str,
    attrs: &[&'static str],
    blocks: &[&'static str],
    lenient: bool,
    ctx: &mut Ctx<'_>,
) -> Parts<'b> {
    let mut out = Parts {
        attrs: BTreeMap::new(),
        blocks: Vec::new(),
    };
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.value().as_str();
                match attrs.iter().find(|a| **a == key) {
                    Some(known) => {
                        if out.attrs.insert(known, attr).is_some() {
                            ctx.error(
                                "Attribute redefined",
                                format!("The argument \"{key}\" was already set in this {what}."),
                                attr.key.span(),
                            )
                            .help = "remove one of the two".to_owned();
                        }
                    }
                    None => {
                        let detail =
                            format!("An argument named \"{key}\" is not expected in {what}.");
                        let help = if blocks.contains(&key) {
                            format!("`{key}` is a block: write `{key} {{ … }}` without `=`")
                        } else if let Some(near) =
                            super::checks::closest(key, attrs.iter().copied())
                        {
                            format!("did you mean `{near}`?")
                        } else {
                            expected("arguments", attrs)
                        };
                        if lenient {
                            ctx.diags.push(
                                Diagnostic::warning(
                                    "Unsupported argument",
                                    format!("{detail} It is ignored."),
                                )
                                .with_help(help)
                                .at(ctx.src, attr.key.span()),
                            );
                        } else {
                            ctx.error("Unsupported argument", detail, attr.key.span())
                                .help = help;
                        }
                    }
                }
            }
            Structure::Block(block) => {
                let ident = block.ident.value().as_str();
                match blocks.iter().find(|b| **b == ident) {
                    Some(known) => out.blocks.push((known, block)),
                    None => {
                        let detail =
                            format!("Blocks of type \"{ident}\" are not expected in {what}.");
                        let help = if attrs.contains(&ident) {
                            format!("`{ident}` is an attribute: write `{ident} = {{ … }}` with `=`")
                        } else {
                            expected("blocks", blocks)
                        };
                        ctx.error("Unsupported block type", detail, block.ident.span())
                            .help = help;
                    }
                }
            }
        }
    }
    out
}

fn expected(kind: &str, names: &[&str]) -> String {
    if names.is_empty() {
        format!("no {kind} are allowed here")
    } else {
        format!("expected one of: {}", names.join(", "))
    }
}

fn label_span(label: &BlockLabel) -> Option<Range<usize>> {
    match label {
        BlockLabel::Ident(i) => i.span(),
        BlockLabel::String(s) => s.span(),
    }
}

/// The block's single label, checked against the label rule. Reports missing, extra and invalid
/// labels; returns the label (even if invalid) and its span when there is one.
pub(crate) fn one_label(
    block: &Block,
    kind: &str,
    purpose: &str,
    ctx: &mut Ctx<'_>,
) -> Option<(String, Option<Range<usize>>)> {
    let header = block.ident.span();
    match block.labels.as_slice() {
        [] => {
            ctx.error(
                &format!("Missing name for `{kind}`"),
                format!("All {kind} blocks must have 1 label ({purpose})."),
                header,
            )
            .help = format!("e.g. `{kind} my_{purpose} {{ … }}`");
            None
        }
        [label, rest @ ..] => {
            if let Some(extra) = rest.first() {
                ctx.error(
                    &format!("Extraneous label for `{kind}`"),
                    format!("Only 1 label ({purpose}) is expected for {kind} blocks."),
                    label_span(extra),
                )
                .help = "remove the extra label".to_owned();
            }
            let text = label.as_str().to_owned();
            let span = label_span(label);
            if !hops_core::is_valid_label(&text) {
                ctx.error(
                    &format!("Invalid label for `{kind}` block"),
                    "Labels must be lowercase alphanumeric separated by underscores, max 50 characters",
                    span.clone(),
                )
                .help = suggest_label(&text).map(|s| format!("try `{s}`")).unwrap_or_default();
            }
            Some((text, span))
        }
    }
}

/// Reports any label on a block that takes none.
pub(crate) fn no_labels(block: &Block, kind: &str, ctx: &mut Ctx<'_>) {
    if let Some(label) = block.labels.first() {
        ctx.error(
            &format!("Extraneous label for `{kind}`"),
            format!("No labels are expected for {kind} blocks."),
            label_span(label),
        )
        .help = "remove the label".to_owned();
    }
}

/// A label-rule version of `text` (`My Pipeline` → `my_pipeline`), if one exists.
pub(crate) fn suggest_label(text: &str) -> Option<String> {
    let ascii = deunicode::deunicode(text).to_lowercase();
    let mut out = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out
        .trim_end_matches('_')
        .chars()
        .take(50)
        .collect::<String>()
        .trim_end_matches('_')
        .to_owned();
    (hops_core::is_valid_label(&out) && out != text).then_some(out)
}

/// Compiles the attribute's expression, reporting one that nests deeper than the limit (it is
/// replaced by `null`, so nothing downstream recurses through it) and `env()` names the host
/// hides or refuses.
pub(crate) fn expr(attr: &Attribute, ctx: &mut Ctx<'_>) -> Expr {
    let compiled = compile(&attr.value);
    let depth = compiled.depth();
    let max = ctx.options.limits.max_depth;
    if depth > max {
        let key = attr.key.value().as_str();
        ctx.error(
            "Expression nested too deeply",
            format!("The value of `{key}` nests {depth} levels deep; the limit is {max}."),
            attr.value.span(),
        )
        .help =
            "split it into simpler expressions (a call's result can feed the next call)".to_owned();
        return Expr::literal(Value::Null);
    }
    check_env_names(&compiled, ctx);
    compiled
}

/// `env("NAME", …)` with a literal name the host refuses (an error) or hides (a warning:
/// the call returns its default).
fn check_env_names(compiled: &Expr, ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    compiled.walk(&mut |e| {
        if let ExprKind::Call { name, args, .. } = &e.kind
            && name == "env"
            && args.len() == 2
            && let Some(ExprKind::Literal(Value::String(var))) = args.first().map(|a| &a.kind)
        {
            found.push((var.clone(), args[0].span.clone()));
        }
    });
    for (var, span) in found {
        match ctx.options.env.access(&var) {
            EnvAccess::Allowed => {}
            EnvAccess::Refused(why) => {
                ctx.error("Environment variable refused", why, span);
            }
            EnvAccess::Hidden => {
                ctx.diags.push(
                    Diagnostic::warning(
                        "Environment variable not visible to pipelines",
                        format!(
                            "env(\"{var}\") will return its default: the host shows pipelines only variables named {}… and those listed with --pipeline-env.",
                            crate::functions::PIPELINE_ENV_PREFIX
                        ),
                    )
                    .with_help(format!(
                        "start the host with --pipeline-env {var} (or HOPS_PIPELINE_ENV={var}), or rename the variable {}{var}",
                        crate::functions::PIPELINE_ENV_PREFIX
                    ))
                    .at(ctx.src, span),
                );
            }
        }
    }
}

/// Evaluates an attribute at load time with no variables; `block_scope` makes `file()` and
/// `template()` available relative to this file. Errors are reported; the evaluation has the
/// load options' budget, so a runaway expression fails here instead of stalling the load.
pub(crate) fn static_value(
    attr: &Attribute,
    block_scope: bool,
    ctx: &mut Ctx<'_>,
) -> Option<Value> {
    let compiled = expr(attr, ctx);
    let dir = ctx.dir().to_owned();
    let eval = EvalContext::new(&*ctx.options.env).with_limits(ctx.options.limits);
    let fn_ctx = FnCtx::new(
        ctx.files,
        block_scope.then_some(dir.as_str()),
        &eval,
        "load",
    );
    match Evaluator::new(&fn_ctx).eval(&compiled, &Scope::empty()) {
        Ok(v) => Some(v.into_owned()),
        Err(e) => {
            let key = attr.key.value().as_str();
            let mut message = e.message;
            if message.starts_with("Unknown variable") {
                message.push_str(" Variables are not available here: this value is computed once when the pipelines load.");
            }
            ctx.error(
                &format!("Invalid value for `{key}`"),
                message,
                e.span.or_else(|| attr.value.span()),
            );
            None
        }
    }
}

/// A static string attribute (type-checked).
pub(crate) fn static_string(attr: &Attribute, ctx: &mut Ctx<'_>) -> Option<String> {
    match static_value(attr, false, ctx)? {
        Value::String(s) => Some(s),
        other => {
            let key = attr.key.value().as_str();
            ctx.error(
                &format!("Invalid value for `{key}`"),
                format!(
                    "`{key}` must be a string, got {}",
                    crate::value::type_name(&other)
                ),
                attr.value.span(),
            );
            None
        }
    }
}

/// A static bool attribute (type-checked).
pub(crate) fn static_bool(attr: &Attribute, ctx: &mut Ctx<'_>) -> Option<bool> {
    match static_value(attr, false, ctx)? {
        Value::Bool(b) => Some(b),
        other => {
            let key = attr.key.value().as_str();
            ctx.error(
                &format!("Invalid value for `{key}`"),
                format!(
                    "`{key}` must be true or false, got {}",
                    crate::value::type_name(&other)
                ),
                attr.value.span(),
            );
            None
        }
    }
}

/// Span of an attribute's value.
pub(crate) fn value_span(attr: &Attribute) -> Option<Range<usize>> {
    attr.value.span()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_suggestions() {
        assert_eq!(suggest_label("My Pipeline").as_deref(), Some("my_pipeline"));
        assert_eq!(suggest_label("fo-o").as_deref(), Some("fo_o"));
        assert_eq!(suggest_label("_foo").as_deref(), Some("foo"));
        assert_eq!(suggest_label("Größe").as_deref(), Some("grosse"));
        assert_eq!(suggest_label("ok"), None);
        assert_eq!(suggest_label("!!!"), None);
    }
}
