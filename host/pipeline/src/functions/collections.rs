//! Collection and conversion functions. Lists, tuples and sets are all JSON arrays here; sets
//! are de-duplicated arrays in first-seen order.

use serde_json::{Map, Value};

use super::{FnCtx, list_arg, number_arg, object_arg, string_arg};
use crate::value::{self, type_name};

/// The first argument that is neither null nor an empty string, after converting all of
/// them to one type as HCL does: a mix of strings, numbers and bools are all strings
/// (`coalesce(1, "a")` is `"1"`); other mixes are an error.
pub(super) fn coalesce(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let kinds: std::collections::BTreeSet<&'static str> = args
        .iter()
        .filter(|v| !v.is_null())
        .map(type_name)
        .collect();
    let unify_to_string = kinds.len() > 1
        && kinds.contains("string")
        && kinds
            .iter()
            .all(|k| matches!(*k, "string" | "number" | "bool"));
    if kinds.len() > 1 && !unify_to_string {
        return Err(format!(
            "all arguments must have the same type, got {}",
            kinds.into_iter().collect::<Vec<_>>().join(" and ")
        ));
    }
    args.into_iter()
        .filter(|v| !v.is_null())
        .map(|v| match v {
            Value::Number(_) | Value::Bool(_) if unify_to_string => {
                value::to_string(&v).map(Value::String)
            }
            other => Ok(other),
        })
        .find(|v| !matches!(v, Ok(Value::String(s)) if s.is_empty()))
        .unwrap_or_else(|| Err("no non-null, non-empty-string arguments".to_owned()))
}

/// Drops empty strings (and nulls) from a list of strings.
pub(super) fn compact(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let items = list_arg(&args, 0, "list")?;
    Ok(Value::Array(
        items
            .iter()
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .collect(),
    ))
}

pub(super) fn concat(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let mut out = Vec::new();
    for i in 0..args.len() {
        out.extend(list_arg(&args, i, "seqs")?.iter().cloned());
    }
    Ok(Value::Array(out))
}

pub(super) fn flatten(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    fn go(items: &[Value], out: &mut Vec<Value>) {
        for item in items {
            match item {
                Value::Array(inner) => go(inner, out),
                other => out.push(other.clone()),
            }
        }
    }
    let mut out = Vec::new();
    go(list_arg(&args, 0, "list")?, &mut out);
    Ok(Value::Array(out))
}

/// `index(collection, key)`: element lookup, as in the original engine (not Terraform's search).
pub(super) fn index(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    match &args[0] {
        Value::Array(items) => {
            let i = value::to_index(&args[1])?;
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "index {i} is out of range for a list of {} elements",
                        items.len()
                    )
                })
        }
        Value::Object(map) => {
            let key = string_arg(&args, 1, "key")?;
            map.get(&key)
                .cloned()
                .ok_or_else(|| format!("the key \"{key}\" does not exist"))
        }
        other => Err(format!("cannot index a {} value", type_name(other))),
    }
}

fn sorted_entries(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Keys in lexicographic order, as HCL objects have them.
pub(super) fn keys(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let map = object_arg(&args, 0, "inputMap")?;
    Ok(Value::Array(
        sorted_entries(map)
            .into_iter()
            .map(|(k, _)| Value::String(k.clone()))
            .collect(),
    ))
}

/// Values in the order of their sorted keys.
pub(super) fn values(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let map = object_arg(&args, 0, "mapping")?;
    Ok(Value::Array(
        sorted_entries(map)
            .into_iter()
            .map(|(_, v)| v.clone())
            .collect(),
    ))
}

pub(super) fn length(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    match &args[0] {
        Value::Array(items) => Ok(Value::from(items.len())),
        Value::Object(map) => Ok(Value::from(map.len())),
        Value::String(s) => Ok(Value::from(s.chars().count())),
        other => Err(format!(
            "cannot take the length of a {} value",
            type_name(other)
        )),
    }
}

/// `lookup(map, key, default)`; without a default a missing key is an error.
pub(super) fn lookup(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let map = object_arg(&args, 0, "inputMap")?;
    let key = string_arg(&args, 1, "key")?;
    match (map.get(&key), args.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!(
            "the key \"{key}\" does not exist and no default was given"
        )),
    }
}

pub(super) fn merge(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let mut out = Map::new();
    for (i, arg) in args.iter().enumerate() {
        match arg {
            Value::Null => {}
            Value::Object(map) => out.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
            other => {
                return Err(format!(
                    "argument {} is a {}, but merge takes objects",
                    i + 1,
                    type_name(other)
                ));
            }
        }
    }
    Ok(Value::Object(out))
}

/// `slice(list, start, end)`: `start` inclusive, `end` exclusive.
pub(super) fn slice(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let items = list_arg(&args, 0, "list")?;
    let start = number_arg(&args, 1, "start_index")? as i64;
    let end = number_arg(&args, 2, "end_index")? as i64;
    if start < 0 || end < start || end as usize > items.len() {
        return Err(format!(
            "invalid slice [{start}:{end}] of a list of {} elements",
            items.len()
        ));
    }
    Ok(Value::Array(items[start as usize..end as usize].to_vec()))
}

/// Sorts strings lexicographically.
pub(super) fn sort(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let mut texts = list_arg(&args, 0, "list")?
        .iter()
        .map(|v| value::to_string(v).map_err(|m| format!("sort takes a list of strings: {m}")))
        .collect::<Result<Vec<_>, _>>()?;
    texts.sort();
    Ok(Value::Array(texts.into_iter().map(Value::String).collect()))
}

pub(super) fn zipmap(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let keys = list_arg(&args, 0, "keys")?;
    let values = list_arg(&args, 1, "values")?;
    if keys.len() != values.len() {
        return Err(format!("{} keys but {} values", keys.len(), values.len()));
    }
    let mut out = Map::new();
    for (k, v) in keys.iter().zip(values) {
        out.insert(value::to_string(k)?, v.clone());
    }
    Ok(Value::Object(out))
}

/// Keeps the first of every group of equal values, in order; linear in the input's size.
fn dedup(items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(value::canonical_key(item)))
        .collect()
}

pub(super) fn setunion(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let mut all = Vec::new();
    for i in 0..args.len() {
        all.extend(list_arg(&args, i, "sets")?.iter().cloned());
    }
    Ok(Value::Array(dedup(all)))
}

pub(super) fn setintersection(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let first = list_arg(&args, 0, "sets")?;
    let mut out = dedup(first.iter().cloned());
    for i in 1..args.len() {
        let other: std::collections::HashSet<String> = list_arg(&args, i, "sets")?
            .iter()
            .map(value::canonical_key)
            .collect();
        out.retain(|v| other.contains(&value::canonical_key(v)));
    }
    Ok(Value::Array(out))
}

pub(super) fn setproduct(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    // The product's size is known up front: charge it before building anything.
    let mut size: u64 = 1;
    for i in 0..args.len() {
        size = size.saturating_mul(list_arg(&args, i, "sets")?.len() as u64);
    }
    ctx.charge(size.saturating_mul(args.len() as u64 + 1), 0)?;
    let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
    for i in 0..args.len() {
        let set = list_arg(&args, i, "sets")?;
        acc = acc
            .into_iter()
            .flat_map(|prefix| {
                set.iter()
                    .map(move |v| [prefix.clone(), vec![v.clone()]].concat())
            })
            .collect();
    }
    Ok(Value::Array(acc.into_iter().map(Value::Array).collect()))
}

pub(super) fn tobool(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        v => value::to_bool(v).map(Value::Bool),
    }
}

pub(super) fn tonumber(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        Value::Number(_) => Ok(args[0].clone()),
        v => value::number_from_f64(value::to_f64(v)?),
    }
}

pub(super) fn tostring(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        v => value::to_string(v).map(Value::String),
    }
}

pub(super) fn tolist(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    list_arg(&args, 0, "v").map(|items| Value::Array(items.clone()))
}

pub(super) fn toset(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    list_arg(&args, 0, "v").map(|items| Value::Array(dedup(items.iter().cloned())))
}

pub(super) fn tomap(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    object_arg(&args, 0, "v").map(|map| Value::Object(map.clone()))
}

#[cfg(test)]
mod tests {
    use crate::functions::test_support::eval;
    use serde_json::json;

    #[test]
    fn collection_functions() {
        assert_eq!(eval(r#"coalesce(null, "", "b")"#).unwrap(), json!("b"));
        // The docs' examples, `docs_fn_coalesce`: mixed types become strings.
        assert_eq!(eval("coalesce(1, 2)").unwrap(), json!(1));
        assert_eq!(eval(r#"coalesce(1, "a")"#).unwrap(), json!("1"));
        assert_eq!(eval(r#"coalesce("", 1)"#).unwrap(), json!("1"));
        assert_eq!(eval("coalesce(null, 1, null, 2)").unwrap(), json!(1));
        assert_eq!(eval("coalesce([null, 2, 3]...)").unwrap(), json!(2));
        assert!(eval("coalesce(true, 1)").unwrap_err().contains("same type"));
        assert_eq!(
            eval(r#"compact(["a", "", "b"])"#).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            eval(r#"concat(["a"], ["b", "c"])"#).unwrap(),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            eval(r#"flatten([["a"], [["b"]], "c"])"#).unwrap(),
            json!(["a", "b", "c"])
        );
        assert_eq!(eval(r#"index(["a", "b"], 1)"#).unwrap(), json!("b"));
        assert_eq!(eval(r#"index({a = 1}, "a")"#).unwrap(), json!(1));
        assert_eq!(eval(r#"keys({b = 1, a = 2})"#).unwrap(), json!(["a", "b"]));
        assert_eq!(eval(r#"values({b = 1, a = 2})"#).unwrap(), json!([2, 1]));
        assert_eq!(eval(r#"length("héllo")"#).unwrap(), json!(5));
        assert_eq!(eval(r#"length({a = 1})"#).unwrap(), json!(1));
        assert_eq!(eval(r#"lookup({a = 1}, "b", 0)"#).unwrap(), json!(0));
        assert!(eval(r#"lookup({a = 1}, "b")"#).is_err());
        assert_eq!(
            eval(r#"merge({a = 1}, {b = 2}, {a = 3})"#).unwrap(),
            json!({"a": 3, "b": 2})
        );
        assert_eq!(
            eval(r#"slice(["a", "b", "c"], 1, 3)"#).unwrap(),
            json!(["b", "c"])
        );
        assert_eq!(eval(r#"sort(["b", "a"])"#).unwrap(), json!(["a", "b"]));
        assert_eq!(
            eval(r#"zipmap(["a", "b"], [1, 2])"#).unwrap(),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(
            eval(r#"setunion(["a"], ["a", "b"])"#).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            eval(r#"setintersection(["a", "b"], ["b", "c"])"#).unwrap(),
            json!(["b"])
        );
        assert_eq!(
            eval(r#"setproduct(["a", "b"], [1])"#).unwrap(),
            json!([["a", 1], ["b", 1]])
        );
        assert_eq!(eval(r#"tobool("true")"#).unwrap(), json!(true));
        assert_eq!(eval(r#"tonumber("42")"#).unwrap(), json!(42));
        assert_eq!(eval("tostring(42)").unwrap(), json!("42"));
        assert_eq!(eval(r#"toset(["a", "a"])"#).unwrap(), json!(["a"]));
        assert_eq!(eval("tomap({})").unwrap(), json!({}));
    }
}
