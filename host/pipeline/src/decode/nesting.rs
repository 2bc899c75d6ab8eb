//! A bound on bracket nesting, checked before the HCL parser sees a file: the parser backtracks
//! at every open `{`, `[` or `(`, so its time grows exponentially with unclosed nesting (the
//! `pipeline` fuzz target found 536 bytes, 43 levels deep, that took it 30 s). Real pipelines
//! nest a handful of levels; past [`MAX_NESTING`] the file gets a diagnostic instead of a parse.

use std::ops::Range;

/// Brackets (`{`, `[`, `(`) open at once that a file may have.
pub(crate) const MAX_NESTING: usize = 32;

/// Where nesting first goes past [`MAX_NESTING`]: the bracket's byte range.
///
/// Quoted strings are skipped whole and comments are skipped, so braces in text do not count;
/// heredoc bodies are scanned as code, where balanced braces (JSON, templates) cost nothing.
pub(crate) fn too_deep(text: &str) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => skip_line(bytes, &mut i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => skip_line(bytes, &mut i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !bytes[i..].starts_with(b"*/") {
                    i += 1;
                }
                i += 1;
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i..i + 1);
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_line(bytes: &[u8], i: &mut usize) {
    while *i < bytes.len() && bytes[*i] != b'\n' {
        *i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_nesting_passes() {
        let text =
            "on a {\n  call x_y {\n    inputs = { a = [1, (2 + 3), { b = [\"{{{{\"] }] }\n  }\n}\n";
        assert_eq!(too_deep(text), None);
        let balanced = "x = [".to_owned() + &"{a = 1}, ".repeat(1000) + "]";
        assert_eq!(too_deep(&balanced), None);
        let braces_in_strings = "x = \"".to_owned() + &"{".repeat(100) + "\"";
        assert_eq!(too_deep(&braces_in_strings), None);
        let braces_in_comments =
            "# ".to_owned() + &"{".repeat(100) + "\n/* " + &"[".repeat(99) + " */";
        assert_eq!(too_deep(&braces_in_comments), None);
    }

    #[test]
    fn deep_nesting_is_found_at_the_bracket_past_the_limit() {
        let text = "x = ".to_owned() + &"[".repeat(MAX_NESTING + 5);
        assert_eq!(too_deep(&text), Some(4 + MAX_NESTING..5 + MAX_NESTING));
    }
}
