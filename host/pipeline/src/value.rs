//! Values: pipelines compute with JSON values (results and events are JSON already), with HCL's
//! conversion rules layered on top.

use serde_json::{Number, Value};

/// A short type name for error messages (`string`, `number`, `bool`, `tuple`, `object`, `null`).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "tuple",
        Value::Object(_) => "object",
    }
}

/// Formats a number the way people write it: `3`, `-2`, `0.5`, `1e+21`, never `3.000000`.
pub fn format_number(n: &Number) -> String {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        return format_f64(f);
    }
    n.to_string()
}

/// Formats a float without a needless fraction (`3.0` → `3`).
pub fn format_f64(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        // Exact integer within the range where i64 formatting is lossless.
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Builds a JSON number from a float, keeping integers integral so they print and compare as such.
pub fn number_from_f64(f: f64) -> Result<Value, String> {
    if !f.is_finite() {
        return Err("arithmetic result is not a finite number".to_owned());
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Ok(Value::Number(Number::from(f as i64)));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| "arithmetic result is not a finite number".to_owned())
}

/// Converts to a string the way HCL does in templates and string parameters: strings as-is,
/// numbers and bools printed; null and collections are errors.
pub fn to_string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(format_number(n)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("cannot use a null value as a string".to_owned()),
        other => Err(format!(
            "cannot use a {} value as a string",
            type_name(other)
        )),
    }
}

/// Converts to a number: numbers as-is, numeric strings parsed.
pub fn to_f64(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| "number out of range".to_owned()),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("cannot convert string {s:?} to a number")),
        Value::Null => Err("cannot use a null value as a number".to_owned()),
        other => Err(format!(
            "cannot use a {} value as a number",
            type_name(other)
        )),
    }
}

/// Converts to a bool: bools as-is, the strings `"true"`/`"false"` parsed.
pub fn to_bool(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        Value::Null => Err("cannot use a null value as a bool".to_owned()),
        other => Err(format!("cannot use a {} value as a bool", type_name(other))),
    }
}

/// Converts to an integer index (numbers with no fraction, or numeric strings).
pub fn to_index(value: &Value) -> Result<i64, String> {
    let f = to_f64(value)?;
    if f.fract() != 0.0 {
        return Err(format!(
            "index must be a whole number, got {}",
            format_f64(f)
        ));
    }
    Ok(f as i64)
}

/// HCL equality: same type and same value; numbers compare numerically (`1 == 1.0`).
pub fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equals(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equals(v, w)))
        }
        _ => a == b,
    }
}

/// A key that two values share exactly when [`equals`] holds for them (numbers by value,
/// object keys in any order), for sets and de-duplication in linear time.
pub fn canonical_key(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Null => out.push('n'),
            Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Value::Number(n) => {
                out.push('#');
                // `equals` compares numbers as f64, so the key does too.
                match n.as_f64() {
                    // 0.0 and -0.0 are equal.
                    Some(0.0) => out.push('0'),
                    Some(f) => out.push_str(&format!("{:x}", f.to_bits())),
                    None => out.push_str(&n.to_string()),
                }
            }
            Value::String(s) => {
                out.push('"');
                out.push_str(&s.len().to_string());
                out.push(':');
                out.push_str(s);
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    write(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (k, v) in entries {
                    out.push_str(&k.len().to_string());
                    out.push(':');
                    out.push_str(k);
                    write(v, out);
                    out.push(',');
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_like_people_write_them() {
        assert_eq!(to_string(&json!(3)).unwrap(), "3");
        assert_eq!(to_string(&json!(3.0)).unwrap(), "3");
        assert_eq!(to_string(&json!(0.5)).unwrap(), "0.5");
        assert_eq!(to_string(&json!(-2.25)).unwrap(), "-2.25");
        assert_eq!(number_from_f64(6.0).unwrap(), json!(6));
        assert!(number_from_f64(f64::NAN).is_err());
    }

    #[test]
    fn conversions_follow_hcl() {
        assert!(to_bool(&json!("true")).unwrap());
        assert!(to_bool(&json!(1)).is_err());
        assert_eq!(to_f64(&json!("2.5")).unwrap(), 2.5);
        assert!(to_string(&json!(null)).is_err());
        assert!(equals(&json!(1), &json!(1.0)));
        assert!(!equals(&json!(1), &json!("1")));
        assert_eq!(to_index(&json!(2)).unwrap(), 2);
        assert!(to_index(&json!(1.5)).is_err());
    }

    #[test]
    fn canonical_keys_agree_with_equals() {
        let values = [
            json!(1),
            json!(1.0),
            json!(-0.0),
            json!(0),
            json!("1"),
            json!(["a", 1]),
            json!(["a", 1.0]),
            json!({"a": 1, "b": [true]}),
            json!({"b": [true], "a": 1.0}),
            json!(null),
            json!(""),
            json!("a,"),
            json!(["a", ""]),
        ];
        for a in &values {
            for b in &values {
                assert_eq!(
                    canonical_key(a) == canonical_key(b),
                    equals(a, b),
                    "{a} vs {b}"
                );
            }
        }
    }
}
