//! Decoding of each block type into the model (before slugs and cross-block checks).

use std::ops::Range;

use hcl_edit::Span as _;
use hcl_edit::structure::{Block, Body};
use serde_json::Value;

use super::reader::{
    self, Ctx, expr, no_labels, one_label, parts, static_bool, static_string, static_value,
    value_span,
};
use crate::cron::CronSpec;
use crate::model::{Call, Done, On, Origin, Param, ParamType, RetryPolicy, Schedule, Task};

/// Blocks of one file before slugs are assigned.
#[derive(Default)]
pub(crate) struct FileBlocks {
    pub ons: Vec<RawOn>,
    pub tasks: Vec<(Task, Option<Range<usize>>)>,
    pub schedules: Vec<(Schedule, Option<Range<usize>>)>,
}

/// An `on` with its calls, not yet slugged. Spans are kept for duplicate-name reports.
pub(crate) struct RawOn {
    pub on: On,
    pub name_span: Option<Range<usize>>,
    pub call_name_spans: Vec<Option<Range<usize>>>,
}

pub(crate) fn root(body: &Body, ctx: &mut Ctx<'_>) -> FileBlocks {
    let mut out = FileBlocks::default();
    let p = parts(
        body,
        "the top level of a .hops file",
        &[],
        &["on", "task", "schedule"],
        ctx,
    );
    for (kind, block) in p.blocks {
        match kind {
            "on" => out.ons.push(on(block, ctx)),
            "task" => {
                if let Some(t) = task(block, ctx) {
                    out.tasks.push(t);
                }
            }
            _ => {
                if let Some(s) = schedule(block, ctx) {
                    out.schedules.push(s);
                }
            }
        }
    }
    out
}

fn origin(ctx: &Ctx<'_>, span: Option<Range<usize>>) -> Origin {
    Origin {
        file: ctx.src.path.clone(),
        span,
    }
}

/// `name = "…"`: static, and (a Hops fix) following the label rule, because names become
/// variable names and subject tokens.
fn name_attr(p: &reader::Parts<'_>, ctx: &mut Ctx<'_>) -> (Option<String>, Option<Range<usize>>) {
    let Some(attr) = p.attrs.get("name") else {
        return (None, None);
    };
    let span = value_span(attr);
    let Some(name) = static_string(attr, ctx) else {
        return (None, span);
    };
    if !hops_core::is_valid_label(&name) {
        let help = match reader::suggest_label(&name) {
            Some(s) => format!("write `name = \"{s}\"`"),
            None => "use lowercase letters, digits and single underscores".to_owned(),
        };
        ctx.error(
            "Invalid `name`",
            "Names must be lowercase alphanumeric separated by underscores, max 50 characters: they become variable names and parts of NATS subjects",
            span.clone(),
        )
        .help = help;
        return (None, span);
    }
    (Some(name), span)
}

fn on(block: &Block, ctx: &mut Ctx<'_>) -> RawOn {
    let label = one_label(block, "on", "event_key", ctx);
    let p = parts(
        &block.body,
        "an `on` block",
        &["name", "if"],
        &["call", "done"],
        ctx,
    );
    let (name, name_span) = name_attr(&p, ctx);
    let mut calls = Vec::new();
    let mut call_name_spans = Vec::new();
    let mut dones = Vec::new();
    for (kind, inner) in p.blocks {
        if kind == "call" {
            let (c, span) = call(inner, ctx);
            calls.push(c);
            call_name_spans.push(span);
        } else {
            dones.push(done(inner, ctx));
        }
    }
    let (label, label_span) = label.unwrap_or_default();
    let on = On {
        label,
        name,
        slug: String::new(),
        condition: p.attrs.get("if").map(|a| expr(a, ctx)),
        calls,
        dones,
        origin: origin(ctx, label_span.or_else(|| block.ident.span())),
        reads_pipelines: Vec::new(),
    };
    RawOn {
        on,
        name_span,
        call_name_spans,
    }
}

fn call(block: &Block, ctx: &mut Ctx<'_>) -> (Call, Option<Range<usize>>) {
    let label = one_label(block, "call", "app_handler", ctx);
    let p = parts(
        &block.body,
        "a `call` block",
        &["name", "if", "inputs", "timeout"],
        &["retry"],
        ctx,
    );
    let (name, name_span) = name_attr(&p, ctx);
    let (label, label_span) = label.unwrap_or_default();
    let (app, handler) = match label.split_once('_') {
        Some((app, handler)) => (app.to_owned(), handler.to_owned()),
        None => {
            if !label.is_empty() && hops_core::is_valid_label(&label) {
                ctx.error(
                    "Invalid label for `call` block",
                    format!("Call labels are `<app>_<handler>`, e.g. `http_do` or `slack_post_message`; \"{label}\" has no underscore"),
                    label_span.clone(),
                )
                .help = format!("name the handler too, e.g. `call {label}_run`");
            }
            (label.clone(), String::new())
        }
    };
    let timeout = p.attrs.get("timeout").and_then(|a| duration_attr(a, ctx));
    let mut retry = None;
    for (_, inner) in &p.blocks {
        if retry.is_some() {
            ctx.error(
                "Duplicate `retry` block",
                "A call takes at most one retry block.",
                inner.ident.span(),
            );
        }
        retry = retry_block(inner, ctx);
    }
    let c = Call {
        label,
        app,
        handler,
        name: name.unwrap_or_default(),
        slug: String::new(),
        condition: p.attrs.get("if").map(|a| expr(a, ctx)),
        inputs: p.attrs.get("inputs").map(|a| expr(a, ctx)),
        timeout,
        retry,
        origin: origin(ctx, label_span.or_else(|| block.ident.span())),
    };
    (c, name_span)
}

fn duration_attr(
    attr: &hcl_edit::structure::Attribute,
    ctx: &mut Ctx<'_>,
) -> Option<std::time::Duration> {
    let text = static_string(attr, ctx)?;
    match crate::duration::parse_duration(&text) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            ctx.error(
                &format!("Invalid `{}`", attr.key.value()),
                "The duration must be greater than zero.",
                value_span(attr),
            );
            None
        }
        Err(e) => {
            ctx.error(
                &format!("Invalid `{}`", attr.key.value()),
                e,
                value_span(attr),
            );
            None
        }
    }
}

fn retry_block(block: &Block, ctx: &mut Ctx<'_>) -> Option<RetryPolicy> {
    no_labels(block, "retry", ctx);
    let p = parts(
        &block.body,
        "a `retry` block",
        &["attempts", "backoff"],
        &[],
        ctx,
    );
    let Some(attempts_attr) = p.attrs.get("attempts") else {
        ctx.error(
            "Missing required argument",
            "The argument \"attempts\" is required in a retry block.",
            block.ident.span(),
        )
        .help = "e.g. `retry { attempts = 3, backoff = \"2s\" }`".to_owned();
        return None;
    };
    let attempts = match static_value(attempts_attr, false, ctx)? {
        Value::Number(n) if n.as_u64().is_some_and(|a| (1..=100).contains(&a)) => {
            n.as_u64().unwrap_or(1) as u32
        }
        other => {
            ctx.error(
                "Invalid `attempts`",
                format!("attempts must be a whole number from 1 to 100, got {other}"),
                value_span(attempts_attr),
            );
            return None;
        }
    };
    let backoff = match p.attrs.get("backoff") {
        Some(a) => duration_attr(a, ctx)?,
        None => std::time::Duration::from_secs(1),
    };
    Some(RetryPolicy { attempts, backoff })
}

fn done(block: &Block, ctx: &mut Ctx<'_>) -> Done {
    no_labels(block, "done", ctx);
    // The original never checked a done block's body, and its docs still show the older
    // `error`/`result` attributes: an unknown attribute is reported, but only as a warning.
    let p = reader::parts_with(
        &block.body,
        "a `done` block",
        &["completed", "errored"],
        &[],
        true,
        ctx,
    );
    Done {
        completed: p.attrs.get("completed").map(|a| expr(a, ctx)),
        errored: p.attrs.get("errored").map(|a| expr(a, ctx)),
        origin: origin(ctx, block.ident.span()),
    }
}

/// A label as a display name: `dry_run` → `Dry Run` (the default of `display_name`).
pub fn title_case(label: &str) -> String {
    label
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn task(block: &Block, ctx: &mut Ctx<'_>) -> Option<(Task, Option<Range<usize>>)> {
    let (name, span) = one_label(block, "task", "task_name", ctx)?;
    let p = parts(
        &block.body,
        "a `task` block",
        &["display_name", "description", "summary", "emoji"],
        &["param"],
        ctx,
    );
    let mut text = |key: &str, default: String| {
        p.attrs
            .get(key)
            .and_then(|a| static_string(a, ctx))
            .unwrap_or(default)
    };
    let display_name = text("display_name", title_case(&name));
    let description = text("description", String::new());
    let summary = text("summary", String::new());
    let emoji = text("emoji", String::new());
    let mut params = Vec::new();
    let mut param_spans = Vec::new();
    for (_, inner) in p.blocks {
        if let Some((param, span)) = param(inner, ctx) {
            params.push(param);
            param_spans.push(span);
        }
    }
    for (i, param) in params.iter().enumerate() {
        if params[..i].iter().any(|p| p.name == param.name) {
            ctx.error(
                "Duplicate names found",
                "Parameters must have unique names within a task's config block.",
                param_spans[i].clone(),
            );
        }
    }
    let task = Task {
        name,
        display_name,
        description,
        summary,
        emoji,
        params,
        filepath: ctx.src.path.clone(),
    };
    Some((task, span))
}

fn param(block: &Block, ctx: &mut Ctx<'_>) -> Option<(Param, Option<Range<usize>>)> {
    let (name, span) = one_label(block, "param", "param_name", ctx)?;
    let p = parts(
        &block.body,
        "a `param` block",
        &[
            "type",
            "required",
            "default",
            "display_name",
            "help",
            "flag",
            "shortflag",
        ],
        &[],
        ctx,
    );
    let kind = match p.attrs.get("type").map(|a| (a, static_string(a, ctx))) {
        None => ParamType::String,
        Some((_, None)) => ParamType::String,
        Some((attr, Some(t))) => match t.as_str() {
            "string" => ParamType::String,
            "text" => ParamType::Text,
            "number" => ParamType::Number,
            "bool" => ParamType::Bool,
            _ => {
                ctx.error(
                    "Invalid `type` for `param` block",
                    "This value is not allowed, must be one of 'string text number bool'",
                    value_span(attr),
                );
                ParamType::String
            }
        },
    };
    let required = p
        .attrs
        .get("required")
        .and_then(|a| static_bool(a, ctx))
        .unwrap_or(false);
    let default = match p.attrs.get("default") {
        None => None,
        Some(attr) => {
            match static_value(attr, true, ctx) {
                Some(Value::Null) | None => None,
                Some(v) if kind.accepts(&v) => Some(v),
                Some(v) => {
                    ctx.error(
                    "Invalid value for type",
                    format!("Unable to evaluate value: the default of a {} param must be a {}, got {}", kind.as_str(), kind.as_str(), crate::value::type_name(&v)),
                    value_span(attr),
                );
                    None
                }
            }
        }
    };
    let mut text = |key: &str, default: String| {
        p.attrs
            .get(key)
            .and_then(|a| static_string(a, ctx))
            .unwrap_or(default)
    };
    let param = Param {
        display_name: text("display_name", title_case(&name)),
        help: text("help", String::new()),
        flag: text("flag", format!("--{name}")),
        shortflag: text("shortflag", String::new()),
        name,
        kind,
        required,
        default,
    };
    Some((param, span))
}

fn schedule(block: &Block, ctx: &mut Ctx<'_>) -> Option<(Schedule, Option<Range<usize>>)> {
    let (name, span) = one_label(block, "schedule", "schedule_name", ctx)?;
    let p = parts(
        &block.body,
        "a `schedule` block",
        &["cron", "inputs", "timezone"],
        &[],
        ctx,
    );
    let tz = match p.attrs.get("timezone") {
        None => chrono_tz::Tz::UTC,
        Some(attr) => match static_string(attr, ctx).map(|t| t.parse::<chrono_tz::Tz>()) {
            Some(Ok(tz)) => tz,
            Some(Err(_)) => {
                ctx.error(
                    "Invalid `timezone` for `schedule` block",
                    "Unknown time zone; use an IANA name such as \"UTC\" or \"Europe/Berlin\"",
                    value_span(attr),
                );
                return None;
            }
            None => return None,
        },
    };
    let Some(cron_attr) = p.attrs.get("cron") else {
        ctx.error(
            "Missing required argument",
            "The argument \"cron\" is required, but no definition was found.",
            block.ident.span(),
        )
        .help = "e.g. `cron = \"30 2 * * 1-5\"` or `cron = \"@hourly\"`".to_owned();
        return None;
    };
    let text = static_string(cron_attr, ctx)?;
    let cron = match CronSpec::parse(&text, tz) {
        Ok(c) => c,
        Err(e) => {
            ctx.error(
                "Invalid `cron` for `schedule` block",
                format!("{e} Consult the cron syntax: 5 fields or @hourly, @daily, @every 10m …"),
                value_span(cron_attr),
            );
            return None;
        }
    };
    let inputs = match p
        .attrs
        .get("inputs")
        .map(|a| (a, static_value(a, true, ctx)))
    {
        None => serde_json::Map::new(),
        Some((_, None)) => return None,
        Some((_, Some(Value::Object(map)))) => map,
        Some((_, Some(Value::Null))) => serde_json::Map::new(),
        Some((attr, Some(other))) => {
            ctx.error(
                "Invalid `inputs` for `schedule` block",
                format!(
                    "inputs must be an object, got {}",
                    crate::value::type_name(&other)
                ),
                value_span(attr),
            );
            return None;
        }
    };
    Some((
        Schedule {
            name,
            cron,
            inputs,
            origin: origin(ctx, span.clone()),
        },
        span,
    ))
}
