//! HCL's heredoc rule, enforced before hcl-edit reads a file.
//!
//! In HCL (and the original engine) a heredoc ends only at a line that holds its marker and
//! nothing else (spaces aside). hcl-edit ends one at the first line that merely *starts* with
//! the marker, so `EOT is the word` inside the text cuts it short, and `EOT // comment` closes
//! it where HCL reports an unterminated heredoc. This pass finds every heredoc, reports the
//! unterminated ones, and for one whose body has such a line gives its opener and real closer
//! another marker of the same length — the text and every byte offset stay as they were.

use std::borrow::Cow;
use std::ops::Range;

/// A heredoc that no line closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unterminated {
    /// The marker, e.g. `EOT`.
    pub marker: String,
    /// Where the opener (`<<-EOT`) is.
    pub opener: Range<usize>,
    /// The first line that starts with the marker without being only the marker, if any
    /// (what the author probably meant as the end).
    pub near_miss: Option<Range<usize>>,
}

/// An opener found on a line: `<<` or `<<-`, the marker, then the end of the line.
struct Opener {
    /// Byte range of `<<…MARKER`.
    span: Range<usize>,
    /// Byte range of the marker itself.
    marker: Range<usize>,
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Whether `line` (without its line ending) would end a heredoc with `marker` in hcl-edit:
/// optional spaces, the marker, then no identifier character.
fn hcl_edit_closes(line: &str, marker: &str) -> bool {
    let rest = line.trim_start_matches([' ', '\t']);
    rest.strip_prefix(marker)
        .is_some_and(|after| !after.starts_with(is_ident_continue))
}

/// Whether `line` closes a heredoc with `marker` in HCL: the marker and spaces only.
fn hcl_closes(line: &str, marker: &str) -> bool {
    line.trim_matches([' ', '\t', '\r']) == marker
}

/// The lines of `text` with the byte offset where each starts (line endings excluded).
fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n').trim_end_matches('\r');
        out.push((start, body));
        start += line.len();
    }
    out
}

/// Finds a heredoc opener ending `line` outside strings and comments. `in_block` tracks a
/// `/* … */` comment across lines.
fn opener_in(line: &str, offset: usize, in_block: &mut bool) -> Option<Opener> {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if *in_block {
            if bytes[i..].starts_with(b"*/") {
                *in_block = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        if in_string {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'#' => return None,
            b'/' if line[i..].starts_with("//") => return None,
            b'/' if line[i..].starts_with("/*") => {
                *in_block = true;
                i += 2;
                continue;
            }
            b'<' if line[i..].starts_with("<<") => {
                let after = &line[i + 2..];
                let dash = usize::from(after.starts_with('-'));
                let ident = &after[dash..];
                let len = ident
                    .char_indices()
                    .find(|(_, c)| !is_ident_continue(*c))
                    .map_or(ident.len(), |(n, _)| n);
                let starts_ok = ident
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_');
                if starts_ok && ident[len..].trim().is_empty() {
                    let marker_start = offset + i + 2 + dash;
                    return Some(Opener {
                        span: offset + i..marker_start + len,
                        marker: marker_start..marker_start + len,
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A marker of the same length as `marker` that no line of `body` would take for a closer.
fn other_marker(marker: &str, body: &[(usize, &str)]) -> Option<String> {
    let prefix: String = marker.chars().take(marker.chars().count() - 1).collect();
    let candidates = ('A'..='Z').chain('a'..='z').chain('0'..='9');
    candidates
        .map(|c| format!("{prefix}{c}"))
        .filter(|m| m != marker && m.len() == marker.len())
        .find(|m| !body.iter().any(|(_, line)| hcl_edit_closes(line, m)))
}

/// The text hcl-edit should parse: `text` itself, or a copy in which heredocs whose body has
/// a line starting with their marker use another marker. Fails on the first heredoc that no
/// line closes.
pub(crate) fn normalize(text: &str) -> Result<Cow<'_, str>, Unterminated> {
    let all = lines(text);
    let mut out: Option<Vec<u8>> = None;
    let mut in_block = false;
    let mut i = 0;
    while i < all.len() {
        let (offset, line) = all[i];
        let Some(opener) = opener_in(line, offset, &mut in_block) else {
            i += 1;
            continue;
        };
        let marker = &text[opener.marker.clone()];
        let body_start = i + 1;
        let Some(close) = (body_start..all.len()).find(|&j| hcl_closes(all[j].1, marker)) else {
            let near_miss = (body_start..all.len())
                .find(|&j| hcl_edit_closes(all[j].1, marker))
                .map(|j| all[j].0..all[j].0 + all[j].1.len());
            return Err(Unterminated {
                marker: marker.to_owned(),
                opener: opener.span,
                near_miss,
            });
        };
        let body = &all[body_start..close];
        if body.iter().any(|(_, l)| hcl_edit_closes(l, marker))
            && let Some(replacement) = other_marker(marker, body)
        {
            let bytes = out.get_or_insert_with(|| text.as_bytes().to_vec());
            bytes[opener.marker.clone()].copy_from_slice(replacement.as_bytes());
            let (close_offset, close_line) = all[close];
            let at = close_offset + close_line.find(marker).unwrap_or(0);
            bytes[at..at + marker.len()].copy_from_slice(replacement.as_bytes());
        }
        i = close + 1;
    }
    Ok(match out {
        // Only ASCII bytes were swapped for ASCII bytes, so the text is still UTF-8.
        Some(bytes) => Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())),
        None => Cow::Borrowed(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Found by the `pipeline` fuzz target: a byte walk through a block comment stopped inside
    // a multi-byte character and sliced the line there.
    #[test]
    fn a_block_comment_with_multibyte_characters_is_skipped() {
        let text = "/* é ü 日本 */ x = <<EOT\nhi\nEOT\n/* ñ\n still ö */\n";
        assert!(normalize(text).is_ok());
        assert!(normalize("/*\u{e9}").is_ok());
    }

    #[test]
    fn a_line_that_starts_with_the_marker_does_not_end_the_heredoc() {
        let text =
            "t = <<-EOT\n  The marker is the word below.\n  EOT is that word.\n  EOT\nx = 1\n";
        let fixed = normalize(text).unwrap();
        assert_eq!(fixed.len(), text.len());
        assert_ne!(fixed, text);
        assert!(
            fixed.contains("  EOT is that word."),
            "the text is kept: {fixed}"
        );
        let body = hcl_edit::parser::parse_body(&fixed).unwrap();
        let value = body.get_attribute("t").unwrap().value.to_string();
        assert!(value.contains("EOT is that word."), "{value}");
        assert!(body.get_attribute("x").is_some());
    }

    #[test]
    fn a_closer_with_a_trailing_comment_leaves_the_heredoc_unterminated() {
        let text = "t = <<-EOT\n  hello\n  EOT // trailing comment\n}\n";
        let err = normalize(text).unwrap_err();
        assert_eq!(err.marker, "EOT");
        assert_eq!(&text[err.opener.clone()], "<<-EOT");
        assert_eq!(
            err.near_miss.map(|r| text[r].to_owned()).as_deref(),
            Some("  EOT // trailing comment")
        );
    }

    #[test]
    fn ordinary_heredocs_and_lookalikes_are_left_alone() {
        for text in [
            "t = <<EOT\nhello\nEOT\n",
            "t = \"<<EOT\"\n",
            "# t = <<EOT\n",
            "t = 1 // <<EOT\n",
            "/* <<EOT\n*/ t = 1\n",
            "t = <<EOT\nEOTS are fine\nEOT\n",
        ] {
            assert!(matches!(normalize(text), Ok(Cow::Borrowed(_))), "{text}");
        }
    }
}
