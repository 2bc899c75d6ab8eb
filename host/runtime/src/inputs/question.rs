//! What a call to `input_ask` asks, read from its inputs:
//! `{ prompt = "…", params = { <name> = { type, required, default, help, display_name } },
//! deadline = "72h" }`. Params have the shape and the checks of task params.

use std::time::Duration;

use hops_pipeline::{Param, ParamType, title_case};
use serde_json::{Map, Value};

/// The question of one input.
#[derive(Debug, Clone)]
pub(crate) struct Question {
    pub(crate) prompt: String,
    pub(crate) params: Vec<Param>,
    pub(crate) deadline: Option<Duration>,
}

const KEYS: &[&str] = &["prompt", "params", "deadline"];
const PARAM_KEYS: &[&str] = &["type", "required", "default", "help", "display_name"];

/// Reads the inputs of an `input_ask` call; the error says what is wrong and how to write it.
pub(crate) fn parse(inputs: &Value) -> Result<Question, String> {
    let Some(object) = inputs.as_object() else {
        return Err(format!(
            "input_ask takes an object of inputs ({{ prompt = \"…\", params = {{ … }}, deadline = \"72h\" }}), got {}",
            kind(inputs)
        ));
    };
    unknown_keys("input_ask", object, KEYS)?;
    let prompt = match object.get("prompt") {
        Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(
                "input_ask needs a prompt: the question people are asked, e.g. prompt = \"Deploy to production?\""
                    .to_owned(),
            );
        }
        Some(other) => {
            return Err(format!(
                "input_ask: prompt must be a string, got {}",
                kind(other)
            ));
        }
    };
    let params = match object.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(params)) => params
            .iter()
            .map(|(name, spec)| param(name, spec))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "input_ask: params must be an object of params by name (params = {{ approve = {{ type = \"bool\" }} }}), got {}",
                kind(other)
            ));
        }
    };
    let deadline = match object.get("deadline") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => match humantime::parse_duration(text.trim()) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => return Err("input_ask: deadline must be longer than zero".to_owned()),
            Err(err) => {
                return Err(format!(
                    "input_ask: deadline {text:?} is not a duration ({err}); write e.g. \"72h\", \"30m\" or \"1h 30m\""
                ));
            }
        },
        Some(other) => {
            return Err(format!(
                "input_ask: deadline must be a duration string such as \"72h\", got {}",
                kind(other)
            ));
        }
    };
    Ok(Question {
        prompt,
        params,
        deadline,
    })
}

fn param(name: &str, spec: &Value) -> Result<Param, String> {
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        return Err(format!(
            "input_ask: param name {name:?} must be letters, digits, _ or -"
        ));
    }
    let empty = Map::new();
    let spec = match spec {
        Value::Object(spec) => spec,
        Value::Null => &empty,
        other => {
            return Err(format!(
                "input_ask: param {name} must be an object ({{ type = \"string\", required = true }}), got {}",
                kind(other)
            ));
        }
    };
    unknown_keys(&format!("input_ask param {name}"), spec, PARAM_KEYS)?;
    let text = |key: &str| -> Result<Option<String>, String> {
        match spec.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "input_ask: {key} of param {name} must be a string, got {}",
                kind(other)
            )),
        }
    };
    let kind_of = match text("type")?.as_deref() {
        None | Some("string") => ParamType::String,
        Some("text") => ParamType::Text,
        Some("number") => ParamType::Number,
        Some("bool") => ParamType::Bool,
        Some(other) => {
            return Err(format!(
                "input_ask: type {other:?} of param {name} is not one of string, text, number, bool"
            ));
        }
    };
    let required = match spec.get("required") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "input_ask: required of param {name} must be true or false, got {}",
                kind(other)
            ));
        }
    };
    let default = match spec.get("default") {
        None | Some(Value::Null) => None,
        Some(value) if kind_of.accepts(value) => Some(value.clone()),
        Some(value) => {
            return Err(format!(
                "input_ask: the default of param {name} must be a {}, got {}",
                kind_of.as_str(),
                kind(value)
            ));
        }
    };
    Ok(Param {
        display_name: text("display_name")?.unwrap_or_else(|| title_case(name)),
        help: text("help")?.unwrap_or_default(),
        flag: format!("--{name}"),
        shortflag: String::new(),
        name: name.to_owned(),
        kind: kind_of,
        required,
        default,
    })
}

fn unknown_keys(what: &str, object: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    let unknown: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{what}: unknown {} {}; it takes {}",
        if unknown.len() == 1 { "key" } else { "keys" },
        unknown.join(", "),
        known.join(", ")
    ))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_full_question() {
        let q = parse(&json!({
            "prompt": "Deploy?",
            "params": {
                "approve": {"type": "bool", "required": true, "help": "Say yes"},
                "reason": {"type": "text", "default": "none"},
                "replicas": {"type": "number", "display_name": "How many"}
            },
            "deadline": "72h"
        }))
        .unwrap();
        assert_eq!(q.prompt, "Deploy?");
        assert_eq!(q.deadline, Some(Duration::from_secs(72 * 3600)));
        assert_eq!(q.params.len(), 3);
        assert_eq!(q.params[0].kind, ParamType::Bool);
        assert!(q.params[0].required);
        assert_eq!(q.params[0].display_name, "Approve");
        assert_eq!(q.params[1].default, Some(json!("none")));
        assert_eq!(q.params[2].display_name, "How many");
    }

    #[test]
    fn a_prompt_alone_is_enough() {
        let q = parse(&json!({"prompt": "Go on?"})).unwrap();
        assert!(q.params.is_empty() && q.deadline.is_none());
    }

    #[test]
    fn says_what_is_wrong() {
        for (inputs, needle) in [
            (json!(null), "takes an object"),
            (json!({}), "needs a prompt"),
            (json!({"prompt": 3}), "prompt must be a string"),
            (json!({"prompt": "x", "colour": 1}), "unknown key colour"),
            (
                json!({"prompt": "x", "deadline": "soon"}),
                "is not a duration",
            ),
            (json!({"prompt": "x", "deadline": "0s"}), "longer than zero"),
            (
                json!({"prompt": "x", "params": []}),
                "params must be an object",
            ),
            (
                json!({"prompt": "x", "params": {"a": {"type": "date"}}}),
                "not one of string",
            ),
            (
                json!({"prompt": "x", "params": {"a": {"type": "number", "default": "2"}}}),
                "must be a number",
            ),
            (
                json!({"prompt": "x", "params": {"a": {"requird": true}}}),
                "unknown key requird",
            ),
            (
                json!({"prompt": "x", "params": {"a b": {}}}),
                "must be letters",
            ),
        ] {
            let err = parse(&inputs).unwrap_err();
            assert!(err.contains(needle), "{inputs}: {err}");
        }
    }
}
