//! Secret values an app was given (its `[secrets]`) are masked as `***` in everything that
//! leaves the app: its results, errors, log lines, emitted events and webhook answers. An app
//! that echoes its token back therefore cannot put it in a run record, a log or an API answer.

use std::borrow::Cow;

use hops_core::CallOutput;
use serde_json::Value;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking every "a" would garble all output, and
/// such a value protects nothing anyway.
const MIN_SECRET_LEN: usize = 4;

/// The secret values of one app version, longest first (so a secret that contains another is
/// masked whole).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Masker {
    secrets: Vec<String>,
}

// Never print the values themselves.
impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Masker {
    /// A masker for `values` (empty and very short ones are ignored).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Masker {
        let mut secrets: Vec<String> = values
            .into_iter()
            .filter(|v| v.len() >= MIN_SECRET_LEN)
            .map(str::to_owned)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        secrets.dedup();
        Masker { secrets }
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret replaced by `***`.
    pub fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        out
    }

    /// `bytes` with every secret replaced by `***` (text or not).
    pub fn bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        let mut out = bytes;
        for secret in &self.secrets {
            let needle = secret.as_bytes();
            if !out.windows(needle.len()).any(|w| w == needle) {
                continue;
            }
            let mut masked = Vec::with_capacity(out.len());
            let mut i = 0;
            while i < out.len() {
                if out[i..].starts_with(needle) {
                    masked.extend_from_slice(MASK.as_bytes());
                    i += needle.len();
                } else {
                    masked.push(out[i]);
                    i += 1;
                }
            }
            out = masked;
        }
        out
    }

    /// Masks `text` in place.
    pub fn string(&self, text: &mut String) {
        if let Cow::Owned(masked) = self.text(text) {
            *text = masked;
        }
    }

    /// Masks every string (and object key) inside `value`.
    pub fn value(&self, value: &mut Value) {
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(s) => self.string(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => {
                let masked_keys = map.keys().any(|k| matches!(self.text(k), Cow::Owned(_)));
                if masked_keys {
                    let entries = std::mem::take(map);
                    for (k, mut v) in entries {
                        self.value(&mut v);
                        map.insert(self.text(&k).into_owned(), v);
                    }
                } else {
                    map.values_mut().for_each(|v| self.value(v));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Masks a call's output: its JSON, body, headers and URL.
    pub fn output(&self, output: &mut CallOutput) {
        if self.is_empty() {
            return;
        }
        if let Some(json) = &mut output.json {
            self.value(json);
        }
        self.string(&mut output.body);
        for value in output.headers.values_mut() {
            self.string(value);
        }
        if let Some(url) = &mut output.url {
            self.string(url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_everywhere_in_an_output() {
        let m = Masker::new(["s3cr3t-token", "s3cr3t", "ab", ""]);
        assert_eq!(m.text("x s3cr3t-token y s3cr3t"), "x *** y ***");
        assert_eq!(m.text("nothing here"), "nothing here");
        assert!(
            matches!(m.text("ab"), Cow::Borrowed(_)),
            "short values are left alone"
        );
        let mut out =
            CallOutput::json(json!({"token": "s3cr3t-token", "list": ["a s3cr3t"], "s3cr3t": 1}));
        out.body = "Bearer s3cr3t-token".into();
        out.headers
            .insert("authorization".into(), "Bearer s3cr3t".into());
        out.url = Some("https://x/?k=s3cr3t".into());
        m.output(&mut out);
        assert_eq!(
            out.json,
            Some(json!({"token": "***", "list": ["a ***"], "***": 1}))
        );
        assert_eq!(out.body, "Bearer ***");
        assert_eq!(out.headers["authorization"], "Bearer ***");
        assert_eq!(out.url.as_deref(), Some("https://x/?k=***"));
        assert!(!format!("{m:?}").contains("s3cr3t"));
        assert_eq!(
            m.bytes(b"\xff s3cr3t \xfe".to_vec()),
            b"\xff *** \xfe".to_vec()
        );
    }
}
