//! Checks across blocks: slugs, duplicate and reserved names, references to variables and
//! functions, and tasks/schedules that pipelines wait for.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use super::KnownApps;
use super::blocks::RawOn;
use crate::diagnostic::Diagnostic;
use crate::expr::{Expr, ExprKind, root_variables};
use crate::model::{On, PipelineSet, Schedule, Task};

/// Names that pipelines and calls may not take: they are root variables of every expression.
pub(crate) const RESERVED: &[&str] = &["event", "hops"];

type Located<T> = (String, (T, Option<Range<usize>>));

pub(crate) fn finish(
    set: &mut PipelineSet,
    raw_ons: Vec<(String, RawOn)>,
    raw_tasks: Vec<Located<Task>>,
    raw_schedules: Vec<Located<Schedule>>,
    apps: Option<&KnownApps>,
    diags: &mut Vec<Diagnostic>,
) {
    let sources = &set.sources;
    let mut report = |path: &str, d: Diagnostic, span: Option<Range<usize>>| match sources.get(path)
    {
        Some(src) => diags.push(d.at(src, span)),
        None => diags.push(d.at_file(path)),
    };

    // Slugs: `name`, or label + position among all `on` blocks (the original engine's rule).
    let mut ons: Vec<(String, RawOn)> = raw_ons;
    for (i, (_, raw)) in ons.iter_mut().enumerate() {
        let on = &mut raw.on;
        on.slug = on
            .name
            .clone()
            .unwrap_or_else(|| format!("{}{i}", on.label));
        for (j, call) in on.calls.iter_mut().enumerate() {
            if call.name.is_empty() {
                call.name = format!("{}{j}", call.label);
            }
            call.slug = format!("{}-{}", on.slug, call.name);
        }
    }

    let mut seen_on: BTreeMap<String, ()> = BTreeMap::new();
    for (path, raw) in &ons {
        let on = &raw.on;
        let span = raw.name_span.clone().or_else(|| on.origin.span.clone());
        if RESERVED.contains(&on.slug.as_str()) {
            report(path, reserved("pipeline", &on.slug), span.clone());
        }
        if seen_on.insert(on.slug.clone(), ()).is_some() {
            let detail = if on.name.is_some() {
                "If 'name' is set, it must be unique for all 'on' config blocks across all .hops files in all automations"
            } else {
                "This unnamed pipeline's generated name (label + position) collides with another pipeline's name"
            };
            report(
                path,
                Diagnostic::error(
                    "Duplicate names found",
                    format!("{detail}: \"{}\".", on.slug),
                )
                .with_help("give each pipeline a distinct `name`"),
                span,
            );
        }
        let mut seen_call = HashSet::new();
        for (call, name_span) in on.calls.iter().zip(&raw.call_name_spans) {
            let span = name_span.clone().or_else(|| call.origin.span.clone());
            if RESERVED.contains(&call.name.as_str()) {
                report(path, reserved("call", &call.name), span.clone());
            }
            if !seen_call.insert(call.name.as_str()) {
                report(
                    path,
                    Diagnostic::error(
                        "Duplicate names found",
                        format!(
                            "Call names must be unique in an 'on' config block: \"{}\".",
                            call.name
                        ),
                    ),
                    span,
                );
            }
        }
    }

    let mut seen_task = HashSet::new();
    for (path, (task, span)) in &raw_tasks {
        if !seen_task.insert(task.name.clone()) {
            report(
                path,
                Diagnostic::error(
                    "Duplicate names found",
                    "Tasks must have unique names across all .hops files in all automations.",
                ),
                span.clone(),
            );
        }
    }
    let mut seen_schedule = HashSet::new();
    for (path, (schedule, span)) in &raw_schedules {
        if !seen_schedule.insert(schedule.name.clone()) {
            report(
                path,
                Diagnostic::error(
                    "Duplicate names found",
                    "Schedules must have unique names across all .hops files in all automations.",
                ),
                span.clone(),
            );
        }
    }

    let on_slugs: HashSet<String> = ons.iter().map(|(_, r)| r.on.slug.clone()).collect();
    for (path, raw) in &mut ons {
        raw.on.reads_pipelines =
            check_expressions(&raw.on, &on_slugs, &mut |d, span| report(path, d, span));
        let on = &raw.on;
        if let Some(task) = on.label.strip_prefix("task_")
            && let Some((_, (found, _))) = raw_tasks.iter().find(|(_, (t, _))| t.name == task)
        {
            let params: Vec<&str> = found.params.iter().map(|p| p.name.as_str()).collect();
            for (name, span) in unknown_event_fields(on, &params) {
                let help = match closest(&name, params.iter().copied()) {
                    Some(near) => format!("did you mean `event.{near}`?"),
                    None if params.is_empty() => format!(
                        "task {task} has no params; declare one with `param {name} {{}}`, or read it inside try(…) if it is optional"
                    ),
                    None => format!("its params are {}", params.join(", ")),
                };
                report(
                    path,
                    Diagnostic::warning(
                        "Not a param of the task",
                        format!(
                            "`event.{name}` is not a param of task {task}: it will be missing from every run of the task, so this expression fails."
                        ),
                    )
                    .with_help(help),
                    span,
                );
            }
        }
        if let Some(task) = on.label.strip_prefix("task_")
            && !seen_task.contains(task)
        {
            report(
                path,
                Diagnostic::warning(
                    "No such task",
                    format!("This pipeline waits for task \"{task}\", but no task has that name."),
                ),
                on.origin.span.clone(),
            );
        }
        if let Some(schedule) = on.label.strip_prefix("schedule_")
            && !seen_schedule.contains(schedule)
        {
            let d = Diagnostic::warning(
                "No such schedule",
                format!(
                    "This pipeline waits for schedule \"{schedule}\", but no schedule has that name."
                ),
            );
            report(path, d, on.origin.span.clone());
        }
    }

    if let Some(apps) = apps {
        for (path, raw) in &ons {
            for call in &raw.on.calls {
                if let Some(d) = check_app(call, apps) {
                    report(path, d, call.origin.span.clone());
                }
            }
        }
    }

    for (i, (_, raw)) in ons.iter().enumerate() {
        set.index.entry(raw.on.label.clone()).or_default().push(i);
    }
    set.ons = ons.into_iter().map(|(_, raw)| raw.on).collect();
    set.tasks = raw_tasks.into_iter().map(|(_, (t, _))| t).collect();
    set.schedules = raw_schedules.into_iter().map(|(_, (s, _))| s).collect();
}

/// `event.<name>` reads in `on`'s expressions where `<name>` is not one of `params` (nor
/// `hops`), outside `try`/`can`, which exist for reading what may be missing.
fn unknown_event_fields(on: &On, params: &[&str]) -> Vec<(String, Option<Range<usize>>)> {
    fn visit(e: &Expr, params: &[&str], out: &mut Vec<(String, Option<Range<usize>>)>) {
        match &e.kind {
            // `try` and `can` are how optional fields are read.
            ExprKind::Try(_) | ExprKind::Can(_) => return,
            ExprKind::Traversal(base, steps) => {
                if let ExprKind::Var(root) = &base.kind
                    && root == "event"
                    && let Some(crate::expr::Step::Attr(name)) = steps.first()
                    && name != "hops"
                    && !params.contains(&name.as_str())
                    && !out.iter().any(|(n, _)| n == name)
                {
                    out.push((name.clone(), e.span.clone()));
                }
            }
            _ => {}
        }
        e.children(&mut |child| visit(child, params, out));
    }
    let mut out = Vec::new();
    let mut exprs: Vec<&Expr> = on.condition.iter().collect();
    for call in &on.calls {
        exprs.extend(call.condition.iter().chain(call.inputs.iter()));
    }
    for done in &on.dones {
        exprs.extend(done.completed.iter().chain(done.errored.iter()));
    }
    for expr in exprs {
        visit(expr, params, &mut out);
    }
    out
}

/// A warning for a call to an app `apps` lacks, or to a handler it does not declare.
fn check_app(call: &crate::model::Call, apps: &KnownApps) -> Option<Diagnostic> {
    if call.app.is_empty() {
        return None;
    }
    match apps.apps.get(&call.app) {
        None => {
            let help = match closest(&call.app, apps.apps.keys().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}_{}`?", call.handler),
                None => format!("add {}.wasm to {}", call.app, apps.source),
            };
            Some(
                Diagnostic::warning(
                    "No app serves this call",
                    format!(
                        "There is no app `{}` in {}: `{}` waits for a host that serves it (at most the host's --app-wait-timeout), then ends errored.",
                        call.app, apps.source, call.label
                    ),
                )
                .with_help(help),
            )
        }
        Some(Some(handlers)) if !handlers.contains(&call.handler) => {
            let help = match closest(&call.handler, handlers.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{}_{near}`?", call.app),
                None => format!("its handlers are {}", handlers.join(", ")),
            };
            Some(
                Diagnostic::warning(
                    "Unknown handler",
                    format!(
                        "App `{}` has no handler `{}` (it declares {}); the call will end errored.",
                        call.app,
                        call.handler,
                        handlers.join(", ")
                    ),
                )
                .with_help(help),
            )
        }
        Some(_) => None,
    }
}

fn reserved(kind: &str, name: &str) -> Diagnostic {
    Diagnostic::error("Reserved name", format!("A {kind} cannot be called \"{name}\": `event` and `hops` are variables in every expression."))
        .with_help(format!("rename it, e.g. `{name}_step`"))
}

/// Every expression of a pipeline may only read `event`, `hops`, its own calls and other
/// pipelines, and only call known functions with a fitting number of arguments.
fn check_expressions(
    on: &On,
    on_slugs: &HashSet<String>,
    report: &mut dyn FnMut(Diagnostic, Option<Range<usize>>),
) -> Vec<String> {
    let mut reads = Vec::new();
    let call_names: Vec<&str> = on.calls.iter().map(|c| c.name.as_str()).collect();
    let mut exprs: Vec<&Expr> = on.condition.iter().collect();
    for call in &on.calls {
        exprs.extend(call.condition.iter().chain(call.inputs.iter()));
    }
    for done in &on.dones {
        exprs.extend(done.completed.iter().chain(done.errored.iter()));
    }
    for expr in exprs {
        for (var, span) in root_variables(expr) {
            let own = RESERVED.contains(&var.as_str()) || call_names.contains(&var.as_str());
            if !own && on_slugs.contains(&var) {
                if !reads.contains(&var) {
                    reads.push(var);
                }
            } else if !own {
                let mut names: Vec<&str> = RESERVED.to_vec();
                names.extend(&call_names);
                let help = match closest(
                    &var,
                    names
                        .iter()
                        .copied()
                        .chain(on_slugs.iter().map(String::as_str)),
                ) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!(
                        "variables here are {}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                report(
                    Diagnostic::error(
                        "Unknown variable",
                        format!("There is no variable named \"{var}\"."),
                    )
                    .with_help(help),
                    span,
                );
            }
        }
        expr.walk(&mut |e| {
            if let ExprKind::Call {
                name,
                func,
                args,
                expand_final,
            } = &e.kind
            {
                match func {
                    None => {
                        let help = closest(name, crate::functions::names().into_iter())
                            .map(|b| format!("did you mean `{b}`?"))
                            .unwrap_or_default();
                        report(
                            Diagnostic::error(
                                "Call to unknown function",
                                format!("There is no function named \"{name}\"."),
                            )
                            .with_help(help),
                            e.span.clone(),
                        );
                    }
                    Some(f) if !expand_final => {
                        if let Err(m) = f.check_arity(args.len()) {
                            report(
                                Diagnostic::error("Wrong number of arguments", m),
                                e.span.clone(),
                            );
                        }
                    }
                    Some(_) => {}
                }
            }
        });
    }
    reads
}

/// The candidate nearest to `word` by edit distance, if it is close enough to be a typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}
