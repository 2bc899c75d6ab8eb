//! Task parameters: checking what a caller sent against a task, and building the task's event.

use std::collections::BTreeMap;

use crate::{Param, ParamType, Task};
use hops_core::{EventMeta, SourceEvent};
use serde_json::{Map, Value};

/// Field errors by parameter name, e.g. `{"service": ["Required"]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Checks `params` against `task` (types, required, unknown names), applies defaults, and builds
/// the source event `{...params, "hops": {"source": "hiphops", "event": "task", "action": <task>}}`.
pub fn task_event(task: &Task, params: Map<String, Value>) -> Result<SourceEvent, FieldErrors> {
    let payload = check_params(&task.params, params, "this task takes no parameters")?;
    let meta = EventMeta {
        source: "hiphops".to_owned(),
        event: "task".to_owned(),
        action: task.name.clone(),
    };
    Ok(SourceEvent::new(payload, meta))
}

/// Checks `given` against declared `params` (types, required, unknown names) and applies
/// defaults: the checks of a task's params, also used for the answer to an input. `none`: what
/// an unknown name is told when nothing is declared.
pub fn check_params(
    params: &[Param],
    given: Map<String, Value>,
    none: &str,
) -> Result<Map<String, Value>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let known: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    for name in given.keys() {
        if !known.contains(&name.as_str()) {
            let hint = if known.is_empty() {
                none.to_owned()
            } else {
                format!("known: {}", known.join(", "))
            };
            errors
                .entry(name.clone())
                .or_default()
                .push(format!("Unknown parameter; {hint}"));
        }
    }
    let mut payload = Map::new();
    for param in params {
        match given.get(&param.name) {
            Some(value) if param.kind.accepts(value) => {
                payload.insert(param.name.clone(), value.clone());
            }
            Some(_) => errors
                .entry(param.name.clone())
                .or_default()
                .push(type_error(param.kind).to_owned()),
            None => match &param.default {
                Some(default) => {
                    payload.insert(param.name.clone(), default.clone());
                }
                None if param.required => errors
                    .entry(param.name.clone())
                    .or_default()
                    .push("Required".to_owned()),
                None => {}
            },
        }
    }
    if errors.is_empty() {
        Ok(payload)
    } else {
        Err(errors)
    }
}

fn type_error(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "Should be a string",
        ParamType::Text => "Should be text",
        ParamType::Number => "Should be a number",
        ParamType::Bool => "Should be a boolean",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task() -> Task {
        let set = crate::PipelineSet::from_files(
            [(
                "a/main.hops".to_owned(),
                b"task restart {\n  param service {\n    required = true\n  }\n  param replicas {\n    type    = \"number\"\n    default = 2\n  }\n  param dry_run {\n    type = \"bool\"\n  }\n}\n".to_vec(),
            )]
            .into(),
        );
        assert!(!set.has_errors(), "{:?}", set.diagnostics);
        set.tasks[0].clone()
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn applies_defaults_and_builds_the_event() {
        let event = task_event(&task(), params(json!({"service": "billing"}))).unwrap();
        assert_eq!(
            Value::Object(event.payload().clone()),
            json!({"service": "billing", "replicas": 2, "hops": {"source": "hiphops", "event": "task", "action": "restart"}})
        );
    }

    #[test]
    fn reports_every_bad_field() {
        let errors = task_event(
            &task(),
            params(json!({"replicas": "two", "dry_run": null, "colour": "red"})),
        )
        .unwrap_err();
        assert_eq!(errors["service"], ["Required"]);
        assert_eq!(errors["replicas"], ["Should be a number"]);
        assert_eq!(errors["dry_run"], ["Should be a boolean"]);
        assert_eq!(
            errors["colour"],
            ["Unknown parameter; known: service, replicas, dry_run"]
        );
    }
}
