//! The original engine's own functions: `env`, `glob`, `xglob`, `alltrue`, `anytrue`,
//! `versiontmpl`, `file` and `template`.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::Datelike;
use globset::{GlobBuilder, GlobMatcher};
use rand::seq::IndexedRandom as _;
use serde_json::Value;

use super::{FnCtx, string_arg};
use crate::value::{self, type_name};

/// `env(name, default)`: the variable if set (even empty), else `default`.
pub(super) fn env(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let name = string_arg(&args, 0, "name")?;
    let default = string_arg(&args, 1, "default")?;
    if let crate::functions::EnvAccess::Refused(why) = ctx.env.access(&name) {
        return Err(why);
    }
    Ok(Value::String(ctx.env.var(&name).unwrap_or(default)))
}

fn strings_of(value: &Value, what: &str) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{what} must be strings, found a {}", type_name(v)))
            })
            .collect(),
        Value::Null => Err(format!("{what} must not be null")),
        other => Err(format!(
            "{what} must be a string or a list of strings, not a {}",
            type_name(other)
        )),
    }
}

thread_local! {
    /// Compiled patterns: pipelines evaluate the same few patterns on every message, and
    /// compiling one costs far more than matching it.
    static GLOBS: RefCell<HashMap<String, GlobMatcher>> = RefCell::new(HashMap::new());
}

/// Cache size bound; the cache is simply cleared when full.
const MAX_CACHED_GLOBS: usize = 512;

fn matchers(patterns: &[String]) -> Result<Vec<Option<GlobMatcher>>, String> {
    patterns
        .iter()
        .map(|p| {
            if p.is_empty() {
                // An empty pattern never matches anything.
                return Ok(None);
            }
            if let Some(m) = GLOBS.with(|c| c.borrow().get(p).cloned()) {
                return Ok(Some(m));
            }
            let matcher = GlobBuilder::new(p)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map(|g| g.compile_matcher())
                .map_err(|e| format!("invalid pattern {p:?}: {e}"))?;
            GLOBS.with(|c| {
                let mut cache = c.borrow_mut();
                if cache.len() >= MAX_CACHED_GLOBS {
                    cache.clear();
                }
                cache.insert(p.clone(), matcher.clone());
            });
            Ok(Some(matcher))
        })
        .collect()
}

fn glob_inputs(
    ctx: &FnCtx<'_>,
    args: &[Value],
) -> Result<(Vec<String>, Vec<Option<GlobMatcher>>), String> {
    let values = strings_of(&args[0], "values")?;
    let patterns = strings_of(&args[1], "patterns")?;
    // Compiling a pattern costs far more than a match: each counts as a thousand values.
    ctx.charge((patterns.len() as u64).saturating_mul(1000), 0)?;
    Ok((values, matchers(&patterns)?))
}

fn matches(value: &str, pattern: &Option<GlobMatcher>) -> bool {
    !value.is_empty() && pattern.as_ref().is_some_and(|m| m.is_match(value))
}

/// `glob(values, patterns)`: true if any value matches any pattern.
pub(super) fn glob(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let (values, patterns) = glob_inputs(ctx, &args)?;
    for v in &values {
        ctx.charge(patterns.len() as u64, 0)?;
        if patterns.iter().any(|p| matches(v, p)) {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// `xglob(values, patterns)`: true only if every value matches every pattern.
pub(super) fn xglob(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let (values, patterns) = glob_inputs(ctx, &args)?;
    for v in &values {
        ctx.charge(patterns.len() as u64, 0)?;
        if !patterns.iter().all(|p| matches(v, p)) {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(!values.is_empty()))
}

fn bools(args: &[Value]) -> Result<Vec<bool>, String> {
    args.iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Array(_) => Err(format!("argument {} is a list; pass the values as separate arguments, e.g. alltrue(a, b) or alltrue(list...)", i + 1)),
            v => value::to_bool(v).map_err(|m| format!("argument {}: {m}", i + 1)),
        })
        .collect()
}

/// False with no arguments, else whether all are true.
pub(super) fn alltrue(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let b = bools(&args)?;
    Ok(Value::Bool(!b.is_empty() && b.iter().all(|&x| x)))
}

/// False with no arguments, else whether any is true.
pub(super) fn anytrue(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Bool(bools(&args)?.iter().any(|&x| x)))
}

const PETS: &[&str] = &[
    "otter", "badger", "heron", "lynx", "marmot", "puffin", "gecko", "alpaca", "walrus", "falcon",
    "beaver", "koala",
];
const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "gentle", "happy", "jolly", "lively", "nimble", "proud", "quiet",
    "swift", "witty",
];
const ADVERBS: &[&str] = &[
    "boldly", "calmly", "deftly", "gladly", "neatly", "quickly", "rarely", "simply", "softly",
    "warmly",
];

/// Replaces `[calver]`, `[yyyy]`, `[yy]`, `[mm]`, `[m]`, `[dd]`, `[d]`, `[pet]`, `[adj]`, `[adv]`
/// with local-time parts or random words; other `[x]` stay. An unterminated `[` is an error.
pub(super) fn versiontmpl(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let template = string_arg(&args, 0, "template")?;
    let now = ctx.now.with_timezone(&chrono::Local);
    let mut rng = ctx.rng.borrow_mut();
    let mut pick = |words: &[&str]| {
        words
            .choose(&mut *rng)
            .copied()
            .unwrap_or("hops")
            .to_owned()
    };
    let mut out = String::new();
    let mut rest = template.as_str();
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find(']').ok_or_else(|| {
            format!("unterminated tag in version template {template:?}: a '[' has no matching ']'")
        })?;
        let tag = &rest[open + 1..open + close];
        let text = match tag {
            "calver" => format!("{:04}.{:02}.{:02}", now.year(), now.month(), now.day()),
            "yyyy" => format!("{:04}", now.year()),
            "yy" => format!("{:02}", now.year() % 100),
            "mm" => format!("{:02}", now.month()),
            "m" => now.month().to_string(),
            "dd" => format!("{:02}", now.day()),
            "d" => now.day().to_string(),
            "pet" => pick(PETS),
            "adj" => pick(ADJECTIVES),
            "adv" => pick(ADVERBS),
            other => format!("[{other}]"),
        };
        out.push_str(&text);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// Joins `path` to the current file's directory and normalises it (`..` may reach a sibling
/// automation; a leading `/` is still relative).
fn resolve(ctx: &FnCtx<'_>, path: &str, func: &str) -> Result<String, String> {
    let dir = ctx.dir.ok_or_else(|| format!("{func}() is only available inside blocks (on, call, done, param defaults, schedule inputs)"))?;
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn read(ctx: &FnCtx<'_>, path: &str, func: &str) -> Result<String, String> {
    let joined = resolve(ctx, path, func)?;
    let bytes = ctx
        .files
        .get(&joined)
        .ok_or_else(|| format!("File {joined} not found"))?;
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("File {joined} is not UTF-8 text"))
}

/// `file(path)`: a loaded file's text; an empty path gives "".
pub(super) fn file(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let path = string_arg(&args, 0, "path")?;
    if path.is_empty() {
        return Ok(Value::String(String::new()));
    }
    read(ctx, &path, "file").map(Value::String)
}

/// `template(path, variables)`: renders a Jinja-style template (minijinja). Numbers print as
/// written (`3`), booleans as `true`/`false`; `variables.autoescape = true` turns HTML escaping on.
pub(super) fn template(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let path = string_arg(&args, 0, "path")?;
    if path.is_empty() {
        return Err("Filename must be provided".to_owned());
    }
    let Value::Object(vars) = &args[1] else {
        return Err("Variables must be key value pairs".to_owned());
    };
    let source = read(ctx, &path, "template")?;
    let autoescape = vars.get("autoescape") == Some(&Value::Bool(true));
    let mut env = minijinja::Environment::new();
    env.set_keep_trailing_newline(true);
    // Loops in a template spend the evaluation's budget too: one unit of fuel per instruction.
    let (elements, _) = ctx.budget.remaining();
    env.set_fuel(Some(elements.clamp(1, 50_000_000)));
    env.set_auto_escape_callback(move |_| {
        if autoescape {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    // Booleans print as people write them in pipelines (`true`), not Python's `True`.
    env.set_formatter(|out, state, value| {
        if value.kind() == minijinja::value::ValueKind::Bool {
            out.write_str(if value.is_true() { "true" } else { "false" })
                .map_err(minijinja::Error::from)
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    let rendered = env
        .render_named_str(&path, &source, minijinja::Value::from_serialize(vars))
        .map_err(|e| format!("Failed to render template {path}: {e:#}"))?;
    Ok(Value::String(rendered))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use crate::functions::Files;
    use crate::functions::test_support::{eval, eval_with};
    use serde_json::json;

    #[test]
    fn glob_and_xglob_table() {
        let cases = [
            (r#""foo", "*oo""#, true, true),
            (r#"["foo","bar"], ["bar"]"#, true, false),
            (r#"["foo","boo"], "?oo""#, true, true),
            (
                r#"["dir/docs/readme.md","dir/contributing.md"], "**/*.md""#,
                true,
                true,
            ),
            (
                r#"["dir/docs/readme.md","dir/src/config.json"], "**/*.md""#,
                true,
                false,
            ),
            (r#""notfoo/bar/buzz.txt", "foo/**/*.txt""#, false, false),
            (r#""hello world", "h[e-o]llo world""#, true, true),
        ];
        for (args, g, x) in cases {
            assert_eq!(
                eval(&format!("glob({args})")).unwrap(),
                json!(g),
                "glob({args})"
            );
            assert_eq!(
                eval(&format!("xglob({args})")).unwrap(),
                json!(x),
                "xglob({args})"
            );
        }
        assert_eq!(eval(r#"glob("a/b", "a/**/b")"#).unwrap(), json!(true));
        assert_eq!(eval(r#"glob("a/x/y/b", "a/**/b")"#).unwrap(), json!(true));
        assert_eq!(eval(r#"glob("a/b", "a*b")"#).unwrap(), json!(false));
        assert_eq!(eval(r#"glob("x", "{x,y}")"#).unwrap(), json!(true));
        assert_eq!(eval(r#"glob("b", "[^a]")"#).unwrap(), json!(true));
        assert_eq!(eval(r#"glob("", "*")"#).unwrap(), json!(false));
        assert_eq!(eval(r#"glob("a", "")"#).unwrap(), json!(false));
        assert!(
            eval(r#"glob("a", "[")"#)
                .unwrap_err()
                .contains("invalid pattern")
        );
        assert!(eval(r#"glob(null, "*")"#).is_err());
    }

    #[test]
    fn env_uses_set_values_even_when_empty() {
        let env: HashMap<String, String> = [
            ("SET".to_owned(), "v".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]
        .into();
        let files = Files::new();
        assert_eq!(
            eval_with(r#"env("SET", "d")"#, &files, &env).unwrap(),
            json!("v")
        );
        assert_eq!(
            eval_with(r#"env("EMPTY", "d")"#, &files, &env).unwrap(),
            json!("")
        );
        assert_eq!(
            eval_with(r#"env("UNSET", "d")"#, &files, &env).unwrap(),
            json!("d")
        );
        assert!(
            eval(r#"env("X")"#)
                .unwrap_err()
                .contains("exactly 2 arguments")
        );
        assert!(eval(r#"env("X", null)"#).is_err());
    }

    #[test]
    fn alltrue_anytrue() {
        assert_eq!(eval("alltrue(true)").unwrap(), json!(true));
        assert_eq!(eval("alltrue(true, false)").unwrap(), json!(false));
        assert_eq!(eval("alltrue()").unwrap(), json!(false));
        assert_eq!(eval("anytrue(false)").unwrap(), json!(false));
        assert_eq!(eval("anytrue(true, false)").unwrap(), json!(true));
        assert_eq!(eval("anytrue(false, false)").unwrap(), json!(false));
        assert_eq!(eval("anytrue()").unwrap(), json!(false));
        assert_eq!(eval(r#"alltrue("true")"#).unwrap(), json!(true));
        assert!(eval("alltrue([true])").unwrap_err().contains("list"));
        assert!(eval("alltrue(null)").is_err());
    }

    #[test]
    fn versiontmpl_tags() {
        let v = eval(r#"versiontmpl("v[calver]-[pet]-[adj]-[adv] [x]")"#).unwrap();
        let re = regex::Regex::new(r"^v\d{4}\.\d{2}\.\d{2}-[a-z]+-[a-z]+-[a-z]+ \[x\]$").unwrap();
        assert!(re.is_match(v.as_str().unwrap()), "{v}");
        let v = eval(r#"versiontmpl("[yyyy][yy][mm][m][dd][d]")"#).unwrap();
        assert!(
            regex::Regex::new(r"^\d{4}\d{2}\d{2}\d{1,2}\d{2}\d{1,2}$")
                .unwrap()
                .is_match(v.as_str().unwrap())
        );
        assert!(
            eval(r#"versiontmpl("My version [")"#)
                .unwrap_err()
                .contains("unterminated")
        );
    }

    fn files() -> Files {
        let mut files = Files::new();
        files.insert("one/notes.txt".into(), Arc::from(&b"hello"[..]));
        files.insert("two/shared.txt".into(), Arc::from(&b"shared"[..]));
        files.insert(
            "one/t.html".into(),
            Arc::from(&b"<p>{{ msg }}</p> {{ n }} {{ ok }}"[..]),
        );
        files.insert(
            "one/list.txt".into(),
            Arc::from(&b"Items:\n{% for i in items %}\n- {{ i }}\n{%- endfor %}\n"[..]),
        );
        files.insert(
            "one/indent.txt".into(),
            Arc::from(&b"  a: {{ v }}\n    b\n"[..]),
        );
        files
    }

    #[test]
    fn file_reads_loaded_files_relative_to_the_block() {
        let files = files();
        let env = HashMap::new();
        assert_eq!(
            eval_with(r#"file("notes.txt")"#, &files, &env).unwrap(),
            json!("hello")
        );
        assert_eq!(
            eval_with(r#"file("/notes.txt")"#, &files, &env).unwrap(),
            json!("hello")
        );
        assert_eq!(
            eval_with(r#"file("../two/shared.txt")"#, &files, &env).unwrap(),
            json!("shared")
        );
        assert_eq!(eval_with(r#"file("")"#, &files, &env).unwrap(), json!(""));
        assert_eq!(
            eval_with(r#"file("nope.txt")"#, &files, &env).unwrap_err(),
            "Call to function \"file\" failed: File one/nope.txt not found"
        );
    }

    #[test]
    fn template_renders_like_people_expect() {
        let files = files();
        let env = HashMap::new();
        let xss =
            r#"template("t.html", {msg = "<script>alert('xss');</script>", n = 3, ok = true})"#;
        assert_eq!(
            eval_with(xss, &files, &env).unwrap(),
            json!("<p><script>alert('xss');</script></p> 3 true")
        );
        let escaped = r#"template("t.html", {msg = "<script>alert('xss');</script>", n = 3.0, ok = false, autoescape = true})"#;
        assert_eq!(
            eval_with(escaped, &files, &env).unwrap(),
            json!("<p>&lt;script&gt;alert(&#x27;xss&#x27;);&lt;&#x2f;script&gt;</p> 3 false")
        );
        assert_eq!(
            eval_with(
                r#"template("list.txt", {items = ["a", "b"]})"#,
                &files,
                &env
            )
            .unwrap(),
            json!("Items:\n\n- a\n- b\n")
        );
        assert_eq!(
            eval_with(r#"template("indent.txt", {v = 1})"#, &files, &env).unwrap(),
            json!("  a: 1\n    b\n")
        );
        assert!(
            eval_with(r#"template("", {})"#, &files, &env)
                .unwrap_err()
                .contains("Filename must be provided")
        );
        assert!(
            eval_with(r#"template("t.html", "x")"#, &files, &env)
                .unwrap_err()
                .contains("Variables must be key value pairs")
        );
    }
}
