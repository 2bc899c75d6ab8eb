//! `--param NAME=VALUE` strings converted to the JSON types a task declares.

use anyhow::{anyhow, bail};
use hops_api::{ParamInfo, ParamKind, TaskInfo};
use serde_json::{Map, Number, Value};

/// Finds `name` among the host's tasks, or says which tasks there are.
pub fn find_task<'t>(tasks: &'t [TaskInfo], name: &str) -> anyhow::Result<&'t TaskInfo> {
    if let Some(task) = tasks.iter().find(|t| t.name == name) {
        return Ok(task);
    }
    if tasks.is_empty() {
        bail!(
            "no task named `{name}`: the host has no tasks loaded (add a `task` block to your pipelines)"
        );
    }
    let known: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    bail!("no task named `{name}`; known tasks: {}", known.join(", "))
}

/// Converts `NAME=VALUE` strings per the task's parameter types. Missing required params are
/// left to the host, which reports them all at once.
pub fn convert(task: &TaskInfo, given: &[String]) -> anyhow::Result<Map<String, Value>> {
    convert_for(&format!("task `{}`", task.name), &task.params, given)
}

/// [`convert`] for any declared params (`what`: whose they are, for messages, e.g. "input
/// `approve`").
pub fn convert_for(
    what: &str,
    declared: &[ParamInfo],
    given: &[String],
) -> anyhow::Result<Map<String, Value>> {
    let mut params = Map::new();
    for raw in given {
        let (name, text) = raw
            .split_once('=')
            .ok_or_else(|| anyhow!("--param expects NAME=VALUE, got `{raw}`"))?;
        let name = name.trim();
        let Some(param) = declared.iter().find(|p| p.name == name) else {
            if declared.is_empty() {
                bail!("{what} takes no parameters; remove --param {name}");
            }
            let known: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "{what} has no parameter `{name}`; its parameters: {}",
                known.join(", ")
            );
        };
        let value = convert_value(param.kind, text).ok_or_else(|| match param.kind {
            ParamKind::Number => anyhow!("parameter `{name}` is a number; `{text}` is not one"),
            _ => {
                anyhow!("parameter `{name}` is a bool: use true/false, yes/no or 1/0, not `{text}`")
            }
        })?;
        if params.insert(name.to_owned(), value).is_some() {
            bail!("--param {name} is given twice");
        }
    }
    Ok(params)
}

fn convert_value(kind: ParamKind, text: &str) -> Option<Value> {
    match kind {
        ParamKind::String | ParamKind::Text | ParamKind::Other => {
            Some(Value::String(text.to_owned()))
        }
        ParamKind::Number => number(text.trim()).map(Value::Number),
        ParamKind::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(Value::Bool(true)),
            "false" | "no" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

/// Integers stay integers (`3`, not `3.0`); anything else finite goes through `f64`.
fn number(text: &str) -> Option<Number> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n.into());
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(n.into());
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task() -> TaskInfo {
        serde_json::from_value(json!({
            "name": "deploy",
            "params": [
                {"name": "service", "type": "string", "required": true},
                {"name": "replicas", "type": "number"},
                {"name": "dry_run", "type": "bool"},
                {"name": "notes", "type": "text"},
            ]
        }))
        .unwrap()
    }

    fn args(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn converts_values_to_the_declared_types() {
        let params = convert(
            &task(),
            &args(&["service=a=b", "replicas=3", "dry_run=yes", "notes=x y"]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(params),
            json!({"service": "a=b", "replicas": 3, "dry_run": true, "notes": "x y"})
        );
        let float = convert(&task(), &args(&["replicas=2.5", "dry_run=0"])).unwrap();
        assert_eq!(
            Value::Object(float),
            json!({"replicas": 2.5, "dry_run": false})
        );
    }

    #[test]
    fn says_what_is_wrong() {
        let err = |items: &[&str]| convert(&task(), &args(items)).unwrap_err().to_string();
        assert_eq!(
            err(&["color=red"]),
            "task `deploy` has no parameter `color`; its parameters: service, replicas, dry_run, notes"
        );
        assert_eq!(
            err(&["replicas=three"]),
            "parameter `replicas` is a number; `three` is not one"
        );
        assert_eq!(
            err(&["replicas=NaN"]),
            "parameter `replicas` is a number; `NaN` is not one"
        );
        assert!(err(&["dry_run=maybe"]).starts_with("parameter `dry_run` is a bool"));
        assert_eq!(
            err(&["service"]),
            "--param expects NAME=VALUE, got `service`"
        );
        assert_eq!(
            err(&["service=a", "service=b"]),
            "--param service is given twice"
        );
    }

    #[test]
    fn unknown_tasks_list_the_known_ones() {
        let tasks = vec![task()];
        assert_eq!(
            find_task(&tasks, "nope").unwrap_err().to_string(),
            "no task named `nope`; known tasks: deploy"
        );
        assert!(
            find_task(&[], "x")
                .unwrap_err()
                .to_string()
                .contains("no tasks loaded")
        );
    }
}
