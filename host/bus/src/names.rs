//! Naming rules: account and topic names, and cleansing of stream and consumer names.

use crate::error::ConfigError;

/// Longest account or topic name accepted.
const MAX_LABEL: usize = 64;

const LABEL_RULE: &str =
    "use 1-64 lowercase ASCII letters, digits, '_' or '-' (e.g. \"hops\", \"default\")";

/// Checks an account or topic name: `[a-z0-9_-]{1,64}`. They become subject tokens and the base
/// of stream and consumer names, so nothing else is allowed.
pub fn validate_label(what: &'static str, value: &str) -> Result<(), ConfigError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_LABEL
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidName {
            what,
            value: value.to_owned(),
            rule: LABEL_RULE,
        })
    }
}

/// Turns any text into a valid NATS stream or consumer name, the original engine's way for the
/// wildcard characters (`*` → `all`, `.` → `dot`, `>` → `children`), and `_` for whitespace,
/// path separators and control characters. An empty input becomes `_`.
pub fn cleanse_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '*' => out.push_str("all"),
            '.' => out.push_str("dot"),
            '>' => out.push_str("children"),
            c if c.is_whitespace() || c.is_control() || c == '/' || c == '\\' => out.push('_'),
            c => out.push(c),
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// The stream name Hops uses for an account: the cleansed account, upper-cased (`hops` → `HOPS`).
pub fn stream_name_for(account: &str) -> String {
    cleanse_name(account).to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_rule() {
        for ok in ["hops", "default", "acme-prod", "a_b", "x1", &"a".repeat(64)] {
            assert!(validate_label("account", ok).is_ok(), "{ok}");
        }
        for bad in ["", "Hops", "a.b", "a b", "a*", "a>", "é", &"a".repeat(65)] {
            let err = validate_label("topic", bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid topic"), "{err}");
            assert!(err.contains("lowercase"), "{err}");
        }
    }

    #[test]
    fn cleansing_replaces_wildcards_and_spaces() {
        assert_eq!(cleanse_name("a.b*c>d"), "adotballcchildrend");
        assert_eq!(cleanse_name("my app\t1/x"), "my_app_1_x");
        assert_eq!(cleanse_name(""), "_");
        assert_eq!(stream_name_for("acme-prod"), "ACME-PROD");
    }
}
