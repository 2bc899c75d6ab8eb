//! The inputs of `call k8s_run`, checked: an unknown input or a wrong type is an errored result
//! that names the field.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

/// Every input `k8s_run` takes (the original engine's, and Hops' additions).
pub const INPUTS: &[&str] = &[
    "image",
    "command",
    "args",
    "namespace",
    "in_dir",
    "in_files",
    "out_dir",
    "out_path",
    "env",
    "cpu",
    "memory",
    "limits",
    "requests",
    "skip_cleanup",
    "timeout",
    "start_timeout",
    "service_account",
    "image_pull_secrets",
    "labels",
    "working_dir",
];

/// CPU and memory quantities (`"250m"`, `"512Mi"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// CPU.
    pub cpu: Option<String>,
    /// Memory.
    pub memory: Option<String>,
}

/// What a `k8s_run` call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInputs {
    /// The image (required).
    pub image: String,
    /// The container's command (its `ENTRYPOINT` otherwise).
    pub command: Option<Vec<String>>,
    /// Its arguments (its `CMD` otherwise).
    pub args: Option<Vec<String>>,
    /// The namespace (`None`: the host's own).
    pub namespace: Option<String>,
    /// Where `in_files` are mounted (default `/input`).
    pub in_dir: String,
    /// Files to mount, relative path → content.
    pub in_files: BTreeMap<String, String>,
    /// The original engine's result file (`out_dir` + `out_path`, default
    /// `/output/result.json`), when either is given: it becomes the termination message path.
    pub result_file: Option<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Limits (`cpu`/`memory` set limits and requests alike, as in the original).
    pub limits: Resources,
    /// Requests.
    pub requests: Resources,
    /// Keep the Pod (and its ConfigMap) after the call.
    pub skip_cleanup: bool,
    /// How long the whole run may take.
    pub timeout: Option<Duration>,
    /// How long the Pod may stay Pending (default 2 min, as in the original).
    pub start_timeout: Duration,
    /// The service account (its token is mounted only then).
    pub service_account: Option<String>,
    /// Secrets to pull the image with.
    pub image_pull_secrets: Vec<String>,
    /// Extra labels on the Pod.
    pub labels: BTreeMap<String, String>,
    /// The container's working directory.
    pub working_dir: Option<String>,
}

/// Default of [`RunInputs::start_timeout`].
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(120);

/// CPU of a call that names none (request and limit), as in the original.
pub const DEFAULT_CPU: &str = "250m";
/// Memory of a call that names none (request and limit), as in the original.
pub const DEFAULT_MEMORY: &str = "128Mi";

/// Reads the call's inputs.
///
/// # Errors
///
/// A message naming the field: unknown, of the wrong type, or (for `image`) missing.
pub fn parse(inputs: &Value) -> Result<RunInputs, String> {
    let empty = Map::new();
    let map = match inputs {
        Value::Object(map) => map,
        Value::Null => &empty,
        other => {
            return Err(format!(
                "inputs must be an object, got {}",
                hops_core::json_type(other)
            ));
        }
    };
    if let Some(unknown) = map.keys().find(|k| !INPUTS.contains(&k.as_str())) {
        return Err(format!(
            "unknown input `{unknown}`; k8s_run takes {}",
            INPUTS.join(", ")
        ));
    }
    let image = match opt_string(map, "image")? {
        Some(image) if !image.trim().is_empty() => image,
        _ => return Err("input `image` is required (e.g. \"alpine:3.20\")".to_owned()),
    };
    let out_dir = opt_string(map, "out_dir")?.filter(|s| !s.is_empty());
    let out_path = opt_string(map, "out_path")?.filter(|s| !s.is_empty());
    let result_file = (map.contains_key("out_dir") || map.contains_key("out_path")).then(|| {
        let dir = out_dir.unwrap_or_else(|| "/output".to_owned());
        let path = out_path.unwrap_or_else(|| "result.json".to_owned());
        format!(
            "{}/{}",
            dir.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    });
    if let Some(file) = &result_file
        && !file.starts_with('/')
    {
        return Err(format!(
            "input `out_dir` must be an absolute path, so the result file is {file:?}"
        ));
    }
    let in_dir = opt_string(map, "in_dir")?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/input".to_owned());
    if !in_dir.starts_with('/') {
        return Err(format!(
            "input `in_dir` must be an absolute path, got {in_dir:?}"
        ));
    }
    let in_files = string_map(map, "in_files")?;
    for path in in_files.keys() {
        if path.is_empty()
            || path.starts_with('/')
            || path.split('/').any(|part| part.is_empty() || part == "..")
        {
            return Err(format!(
                "in_files: {path:?} must be a relative path without `..` (e.g. \"scripts/run.sh\")"
            ));
        }
    }
    let limits = resources(map, "limits")?;
    let requests = resources(map, "requests")?;
    // The original's defaults, where neither `limits` nor `requests` says otherwise.
    let cpu = opt_string(map, "cpu")?.or_else(|| {
        (limits.cpu.is_none() && requests.cpu.is_none()).then(|| DEFAULT_CPU.to_owned())
    });
    let memory = opt_string(map, "memory")?.or_else(|| {
        (limits.memory.is_none() && requests.memory.is_none()).then(|| DEFAULT_MEMORY.to_owned())
    });
    Ok(RunInputs {
        image,
        command: opt_strings(map, "command")?,
        args: opt_strings(map, "args")?,
        namespace: opt_string(map, "namespace")?.filter(|s| !s.is_empty()),
        in_dir,
        in_files,
        result_file,
        env: string_map(map, "env")?,
        limits: Resources {
            cpu: limits.cpu.or_else(|| cpu.clone()),
            memory: limits.memory.or_else(|| memory.clone()),
        },
        requests: Resources {
            cpu: requests.cpu.or(cpu),
            memory: requests.memory.or(memory),
        },
        skip_cleanup: match map.get("skip_cleanup") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(type_error("skip_cleanup", "true or false", other)),
        },
        timeout: opt_duration(map, "timeout")?,
        start_timeout: opt_duration(map, "start_timeout")?.unwrap_or(DEFAULT_START_TIMEOUT),
        service_account: opt_string(map, "service_account")?.filter(|s| !s.is_empty()),
        image_pull_secrets: opt_strings(map, "image_pull_secrets")?.unwrap_or_default(),
        labels: string_map(map, "labels")?,
        working_dir: opt_string(map, "working_dir")?.filter(|s| !s.is_empty()),
    })
}

fn type_error(field: &str, expected: &str, got: &Value) -> String {
    format!(
        "input `{field}` must be {expected}, got {}",
        hops_core::json_type(got)
    )
}

fn opt_string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(type_error(field, "a string", other)),
    }
}

fn opt_strings(map: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(type_error(&format!("{field}[{i}]"), "a string", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(type_error(field, "a list of strings", other)),
    }
}

fn string_map(map: &Map<String, Value>, field: &str) -> Result<BTreeMap<String, String>, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(entries)) => entries
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(_) | Value::Bool(_) => Ok((k.clone(), v.to_string())),
                other => Err(type_error(&format!("{field}.{k}"), "a string", other)),
            })
            .collect(),
        Some(other) => Err(type_error(field, "an object of strings", other)),
    }
}

fn resources(map: &Map<String, Value>, field: &str) -> Result<Resources, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(Resources::default()),
        Some(Value::Object(entries)) => {
            if let Some(k) = entries.keys().find(|k| *k != "cpu" && *k != "memory") {
                return Err(format!(
                    "input `{field}.{k}` is unknown; {field} takes cpu and memory"
                ));
            }
            Ok(Resources {
                cpu: opt_string(entries, "cpu")
                    .map_err(|e| e.replace("`cpu`", &format!("`{field}.cpu`")))?,
                memory: opt_string(entries, "memory")
                    .map_err(|e| e.replace("`memory`", &format!("`{field}.memory`")))?,
            })
        }
        Some(other) => Err(type_error(field, "an object with cpu and memory", other)),
    }
}

fn opt_duration(map: &Map<String, Value>, field: &str) -> Result<Option<Duration>, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => humantime::parse_duration(s.trim()).map(Some).map_err(|e| {
            format!("input `{field}` {s:?} is not a duration like \"90s\" or \"10m\": {e}")
        }),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| *s > 0.0)
            .map(|s| Some(Duration::from_secs_f64(s)))
            .ok_or_else(|| format!("input `{field}` must be a positive number of seconds")),
        Some(other) => Err(type_error(field, "a duration like \"90s\"", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_original_example_is_read_as_it_meant() {
        let inputs = parse(&json!({
            "image": "bash:5-alpine3.18",
            "command": ["bash", "-c", "echo hi > /output/result.json"],
            "args": [],
            "namespace": "",
            "in_dir": "",
            "in_files": {"foo.txt": "bar"},
            "out_dir": "",
            "out_path": "",
            "cpu": "100m",
            "memory": "500Mi",
            "skip_cleanup": false,
        }))
        .unwrap();
        assert_eq!(inputs.image, "bash:5-alpine3.18");
        assert_eq!(inputs.namespace, None);
        assert_eq!(inputs.in_dir, "/input");
        assert_eq!(inputs.result_file.as_deref(), Some("/output/result.json"));
        assert_eq!(inputs.limits.cpu.as_deref(), Some("100m"));
        assert_eq!(inputs.requests.memory.as_deref(), Some("500Mi"));
        assert_eq!(inputs.start_timeout, DEFAULT_START_TIMEOUT);
        let plain = parse(&json!({"image": "a", "requests": {"memory": "1Gi"}})).unwrap();
        assert_eq!(plain.limits.cpu.as_deref(), Some(DEFAULT_CPU));
        assert_eq!(
            plain.limits.memory, None,
            "no default limit below a request"
        );
        assert_eq!(plain.requests.memory.as_deref(), Some("1Gi"));
    }

    #[test]
    fn bad_inputs_name_the_field() {
        for (inputs, expected) in [
            (json!({}), "input `image` is required"),
            (json!({"image": "a", "imgae": 1}), "unknown input `imgae`"),
            (
                json!({"image": "a", "command": "ls"}),
                "input `command` must be a list of strings",
            ),
            (
                json!({"image": "a", "env": {"A": [1]}}),
                "input `env.A` must be a string",
            ),
            (
                json!({"image": "a", "timeout": "soon"}),
                "input `timeout` \"soon\" is not a duration",
            ),
            (
                json!({"image": "a", "in_files": {"../x": "y"}}),
                "in_files: \"../x\"",
            ),
            (
                json!({"image": "a", "limits": {"gpu": "1"}}),
                "input `limits.gpu` is unknown",
            ),
            (
                json!({"image": "a", "skip_cleanup": "yes"}),
                "input `skip_cleanup` must be true or false",
            ),
            (json!([1]), "inputs must be an object"),
        ] {
            let err = parse(&inputs).unwrap_err();
            assert!(err.contains(expected), "{inputs}: {err}");
        }
    }
}
