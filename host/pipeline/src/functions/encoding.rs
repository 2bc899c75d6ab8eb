//! Encoding functions: JSON, CSV, base64, SHA-256, UUIDs.

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::{FnCtx, string_arg};

pub(super) fn jsondecode(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    serde_json::from_str(&string_arg(&args, 0, "str")?).map_err(|e| format!("invalid JSON: {e}"))
}

pub(super) fn jsonencode(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    serde_json::to_string(&args[0])
        .map(Value::String)
        .map_err(|e| e.to_string())
}

/// CSV text → list of objects keyed by the header row.
pub(super) fn csvdecode(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = string_arg(&args, 0, "str")?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("invalid CSV: {e}"))?
        .clone();
    // Every row repeats the header names as keys: charge them as each row is built.
    let header_bytes: u64 = headers.iter().map(|h| h.len() as u64).sum();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("invalid CSV: {e}"))?;
        ctx.charge(headers.len() as u64, header_bytes)?;
        let row: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_owned(), Value::String(v.to_owned())))
            .collect();
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}

pub(super) fn base64encode(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(string_arg(&args, 0, "str")?),
    ))
}

pub(super) fn base64decode(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(string_arg(&args, 0, "str")?.trim())
        .map_err(|e| format!("invalid base64: {e}"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "the decoded bytes are not valid UTF-8 text".to_owned())
}

/// Hex SHA-256 of a string's UTF-8 bytes.
pub(super) fn sha256(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::String(hex::encode(sha2::Sha256::digest(
        string_arg(&args, 0, "str")?.as_bytes(),
    ))))
}

/// A random UUID v4; a fresh one on every evaluation.
pub(super) fn uuid(ctx: &FnCtx<'_>, _: Vec<Value>) -> Result<Value, String> {
    use rand::Rng as _;
    let bytes: [u8; 16] = ctx.rng.borrow_mut().random();
    Ok(Value::String(
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::functions::test_support::eval;
    use serde_json::json;

    #[test]
    fn encoding_functions() {
        assert_eq!(
            eval(r#"jsondecode("{\"a\": [1, true]}")"#).unwrap(),
            json!({"a": [1, true]})
        );
        assert_eq!(
            eval(r#"jsonencode({a = [1, "x"]})"#).unwrap(),
            json!(r#"{"a":[1,"x"]}"#)
        );
        assert_eq!(
            eval(r#"csv("name,age\nann,3\n")"#).unwrap(),
            json!([{"name": "ann", "age": "3"}])
        );
        assert_eq!(eval(r#"base64encode("hello")"#).unwrap(), json!("aGVsbG8="));
        assert_eq!(eval(r#"base64decode("aGVsbG8=")"#).unwrap(), json!("hello"));
        assert!(
            eval(r#"base64decode("***")"#)
                .unwrap_err()
                .contains("invalid base64")
        );
        assert_eq!(
            eval(r#"sha256("abc")"#).unwrap(),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        let a = eval("uuid()").unwrap();
        assert_eq!(a.as_str().unwrap().len(), 36);
        assert_ne!(a, eval("uuid()").unwrap());
    }
}
