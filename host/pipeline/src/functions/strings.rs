//! String functions, including the original engine's quirks: `regex` returns every match and
//! `reverse` reverses a string.

use serde_json::Value;

use super::{FnCtx, list_arg, number_arg, string_arg};

fn s(value: String) -> Result<Value, String> {
    Ok(Value::String(value))
}

pub(super) fn chomp(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    s(string_arg(&args, 0, "str")?
        .trim_end_matches(['\n', '\r'])
        .to_owned())
}

pub(super) fn lower(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    s(string_arg(&args, 0, "str")?.to_lowercase())
}

pub(super) fn upper(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    s(string_arg(&args, 0, "str")?.to_uppercase())
}

/// Upper-cases the first letter of every word.
pub(super) fn title(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = string_arg(&args, 0, "str")?;
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !c.is_alphanumeric();
    }
    s(out)
}

pub(super) fn indent(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let n = number_arg(&args, 0, "spaces")?.max(0.0);
    let text = string_arg(&args, 1, "str")?;
    let lines = text.matches('\n').count() as f64;
    ctx.charge(0, (n * (lines + 1.0)).min(u64::MAX as f64) as u64)?;
    let pad = " ".repeat(n as usize);
    s(text.replace('\n', &format!("\n{pad}")))
}

/// `join(separator, list...)`.
pub(super) fn join(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let sep = string_arg(&args, 0, "separator")?;
    let mut parts = Vec::new();
    for i in 1..args.len() {
        for item in list_arg(&args, i, "lists")? {
            parts.push(
                crate::value::to_string(item).map_err(|m| format!("invalid list element: {m}"))?,
            );
        }
    }
    let size = parts.iter().map(String::len).sum::<usize>() + sep.len() * parts.len();
    ctx.charge(0, size as u64)?;
    s(parts.join(&sep))
}

pub(super) fn replace(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = string_arg(&args, 0, "str")?;
    let find = string_arg(&args, 1, "substr")?;
    let with = string_arg(&args, 2, "replace")?;
    // An empty `find` matches between every two characters: the output can be the input
    // times the replacement, so it is charged before it is built.
    let count = if find.is_empty() {
        text.chars().count() + 1
    } else {
        text.matches(find.as_str()).count()
    };
    ctx.charge(0, (count as u64).saturating_mul(with.len() as u64))?;
    s(text.replace(&find, &with))
}

fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

/// `regexreplace(str, pattern, replacement)`; `$1` refers to groups.
pub(super) fn regexreplace(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = string_arg(&args, 0, "str")?;
    let re = compile_regex(&string_arg(&args, 1, "pattern")?)?;
    let with = string_arg(&args, 2, "replace")?;
    // Each match costs the replacement, and each group reference in it up to the whole input.
    let count = re.find_iter(&text).count() as u64;
    let refs = with.matches('$').count() as u64;
    let per_match = (with.len() as u64).saturating_add(refs.saturating_mul(text.len() as u64));
    ctx.charge(0, count.saturating_mul(per_match))?;
    s(re.replace_all(&text, with.as_str()).into_owned())
}

/// `regex(pattern, str)` → every match (the whole match, or the groups when there are any).
pub(super) fn regex_all(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let re = compile_regex(&string_arg(&args, 0, "pattern")?)?;
    let text = string_arg(&args, 1, "str")?;
    let matches = re
        .captures_iter(&text)
        .map(|caps| {
            if caps.len() == 1 {
                Value::String(caps[0].to_owned())
            } else {
                Value::Array(
                    caps.iter()
                        .skip(1)
                        .map(|g| g.map_or(Value::Null, |m| Value::String(m.as_str().to_owned())))
                        .collect(),
                )
            }
        })
        .collect();
    Ok(Value::Array(matches))
}

pub(super) fn reverse(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    s(string_arg(&args, 0, "str")?.chars().rev().collect())
}

/// `split(separator, str)`.
pub(super) fn split(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let sep = string_arg(&args, 0, "separator")?;
    let text = string_arg(&args, 1, "str")?;
    if sep.is_empty() {
        return Ok(Value::Array(
            text.chars().map(|c| Value::String(c.to_string())).collect(),
        ));
    }
    Ok(Value::Array(
        text.split(sep.as_str())
            .map(|p| Value::String(p.to_owned()))
            .collect(),
    ))
}

pub(super) fn strlen(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::from(string_arg(&args, 0, "str")?.chars().count()))
}

/// `substr(str, offset, length)`; a negative offset counts from the end, length -1 = to the end.
pub(super) fn substr(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let chars: Vec<char> = string_arg(&args, 0, "str")?.chars().collect();
    let len = chars.len() as i64;
    let mut offset = number_arg(&args, 1, "offset")? as i64;
    let length = number_arg(&args, 2, "length")? as i64;
    if offset < 0 {
        offset += len;
    }
    let start = offset.clamp(0, len) as usize;
    let end = if length < 0 {
        len
    } else {
        (offset + length).clamp(0, len)
    } as usize;
    s(chars[start..end.max(start)].iter().collect())
}

pub(super) fn trim(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = string_arg(&args, 0, "str")?;
    let cutset: Vec<char> = string_arg(&args, 1, "cutset")?.chars().collect();
    s(text.trim_matches(|c| cutset.contains(&c)).to_owned())
}

pub(super) fn trimprefix(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = string_arg(&args, 0, "str")?;
    let prefix = string_arg(&args, 1, "prefix")?;
    s(text
        .strip_prefix(prefix.as_str())
        .unwrap_or(&text)
        .to_owned())
}

pub(super) fn trimsuffix(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = string_arg(&args, 0, "str")?;
    let suffix = string_arg(&args, 1, "suffix")?;
    s(text
        .strip_suffix(suffix.as_str())
        .unwrap_or(&text)
        .to_owned())
}

pub(super) fn trimspace(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    s(string_arg(&args, 0, "str")?.trim().to_owned())
}

/// `contains(list, value)` or `contains(string, substring)`.
pub(super) fn contains(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    match &args[0] {
        Value::Array(items) => Ok(Value::Bool(
            items
                .iter()
                .any(|item| crate::value::equals(item, &args[1])),
        )),
        Value::Object(_) => Err(
            "contains takes a list or a string, not an object; use lookup() or can(x[key])"
                .to_owned(),
        ),
        _ => Ok(Value::Bool(
            string_arg(&args, 0, "str")?.contains(&string_arg(&args, 1, "substr")?),
        )),
    }
}

pub(super) fn startswith(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Bool(
        string_arg(&args, 0, "str")?.starts_with(&string_arg(&args, 1, "prefix")?),
    ))
}

pub(super) fn endswith(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Bool(
        string_arg(&args, 0, "str")?.ends_with(&string_arg(&args, 1, "suffix")?),
    ))
}

/// The most digits `%.Nf` may ask for (more is never meaningful for an f64, and a huge `N`
/// would allocate gigabytes).
const MAX_PRECISION: usize = 100;

/// `format(spec, values...)`: `%s`, `%d`, `%f` (with `.N` precision), `%t`, `%q`, `%v`, `%%`.
pub(super) fn format(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let spec = string_arg(&args, 0, "format")?;
    let mut out = String::new();
    let mut next = 1;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            precision = digits.parse::<usize>().ok();
            if !digits.is_empty() && precision.is_none_or(|p| p > MAX_PRECISION) {
                return Err(format!(
                    "precision .{digits} in format {spec:?} is over the limit of {MAX_PRECISION} digits"
                ));
            }
        }
        let verb = chars
            .next()
            .ok_or("format string ends with an unfinished %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .get(next)
            .ok_or_else(|| format!("not enough arguments for format {spec:?}"))?;
        next += 1;
        match verb {
            's' | 'v' => out.push_str(&match arg {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                    crate::value::to_string(arg)?
                }
                other => other.to_string(),
            }),
            'd' => out.push_str(&(crate::value::to_f64(arg)?.trunc() as i64).to_string()),
            'f' => out.push_str(&format!(
                "{:.*}",
                precision.unwrap_or(6),
                crate::value::to_f64(arg)?
            )),
            't' => out.push_str(&crate::value::to_bool(arg)?.to_string()),
            'q' => out.push_str(&Value::String(crate::value::to_string(arg)?).to_string()),
            other => {
                return Err(format!(
                    "unsupported format verb %{other}; use %s, %d, %f, %t, %q or %v"
                ));
            }
        }
    }
    if next < args.len() {
        return Err(format!("too many arguments for format {spec:?}"));
    }
    s(out)
}

#[cfg(test)]
mod tests {
    use crate::functions::test_support::eval;
    use serde_json::json;

    #[test]
    fn string_functions() {
        assert_eq!(eval(r#"chomp("a\n\n")"#).unwrap(), json!("a"));
        assert_eq!(eval(r#"upper("other task")"#).unwrap(), json!("OTHER TASK"));
        assert_eq!(
            eval(r#"title("say hello-world")"#).unwrap(),
            json!("Say Hello-World")
        );
        assert_eq!(eval(r#"indent(2, "a\nb")"#).unwrap(), json!("a\n  b"));
        assert_eq!(
            eval(r#"join(", ", ["a", "b"], ["c"])"#).unwrap(),
            json!("a, b, c")
        );
        assert_eq!(
            eval(r#"replace("a-b-c", "-", "+")"#).unwrap(),
            json!("a+b+c")
        );
        assert_eq!(
            eval(r#"regexreplace("v1.2", "[0-9]", "N")"#).unwrap(),
            json!("vN.N")
        );
        assert_eq!(
            eval(r#"regex("[0-9]+", "a1b22")"#).unwrap(),
            json!(["1", "22"])
        );
        assert_eq!(
            eval(r#"regex("(a)(b)?", "a ab")"#).unwrap(),
            json!([["a", null], ["a", "b"]])
        );
        assert_eq!(eval(r#"reverse("abc")"#).unwrap(), json!("cba"));
        assert_eq!(eval(r#"split(",", "a,b")"#).unwrap(), json!(["a", "b"]));
        assert_eq!(eval(r#"strlen("héllo")"#).unwrap(), json!(5));
        assert_eq!(
            eval(r#"substr("hello world", 1, 4)"#).unwrap(),
            json!("ello")
        );
        assert_eq!(eval(r#"substr("hello", -3, -1)"#).unwrap(), json!("llo"));
        assert_eq!(eval(r#"trim("?!hi?!", "!?")"#).unwrap(), json!("hi"));
        assert_eq!(
            eval(r#"trimprefix("release/1", "release/")"#).unwrap(),
            json!("1")
        );
        assert_eq!(eval(r#"trimsuffix("a.md", ".md")"#).unwrap(), json!("a"));
        assert_eq!(eval(r#"trimspace("  a  ")"#).unwrap(), json!("a"));
        assert_eq!(eval(r#"contains(["a", 1], 1)"#).unwrap(), json!(true));
        assert_eq!(
            eval(r#"contains("release/1", "ease")"#).unwrap(),
            json!(true)
        );
        assert_eq!(
            eval(r#"startswith("release/1", "release/")"#).unwrap(),
            json!(true)
        );
        assert_eq!(eval(r#"endswith("a.md", ".txt")"#).unwrap(), json!(false));
        assert_eq!(
            eval(r#"format("%s has %d items (%.1f%%) %t %q", "x", 3, 12.345, true, "q")"#).unwrap(),
            json!("x has 3 items (12.3%) true \"q\"")
        );
        assert!(eval(r#"format("%s")"#).is_err());
        assert!(
            eval(r#"regex("(", "x")"#)
                .unwrap_err()
                .contains("invalid regular expression")
        );
    }
}
