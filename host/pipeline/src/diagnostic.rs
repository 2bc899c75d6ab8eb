//! Diagnostics: what is wrong, where, and how to fix it.

use std::fmt::Write as _;
use std::ops::Range;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The pipelines cannot be used as written.
    Error,
    /// Probably a mistake; the pipelines still load.
    Warning,
}

/// A 1-based line/column position (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A located problem in the pipelines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub summary: String,
    /// More detail (may be empty).
    pub detail: String,
    /// A suggestion how to fix it (may be empty).
    pub help: String,
    /// File path relative to the pipelines directory, `/`-separated (empty when not file-bound).
    pub file: String,
    /// Byte range in the file, when known.
    pub span: Option<Range<usize>>,
    /// Start position, when known.
    pub start: Option<Pos>,
    /// End position, when known.
    pub end: Option<Pos>,
}

impl Diagnostic {
    /// An error diagnostic without location.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            help: String::new(),
            file: String::new(),
            span: None,
            start: None,
            end: None,
        }
    }

    /// A warning diagnostic without location.
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary, detail)
        }
    }

    /// Adds a fix suggestion.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Locates the diagnostic at `span` of `source`.
    pub fn at(mut self, source: &SourceFile, span: Option<Range<usize>>) -> Self {
        self.file = source.path.clone();
        if let Some(span) = span {
            self.start = Some(source.pos(span.start));
            self.end = Some(source.pos(span.end));
            self.span = Some(span);
        } else {
            self.start = Some(Pos { line: 1, column: 1 });
            self.end = Some(Pos { line: 1, column: 1 });
        }
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// One line: `file:line:col: error: summary: detail`, for logs and done markers.
    pub fn one_line(&self) -> String {
        let mut out = String::new();
        if !self.file.is_empty() {
            out.push_str(&self.file);
            if let Some(start) = self.start {
                let _ = write!(out, ":{}:{}", start.line, start.column);
            }
            out.push_str(": ");
        }
        out.push_str(&self.summary);
        if !self.detail.is_empty() {
            let _ = write!(out, ": {}", self.detail);
        }
        out
    }

    /// The JSON shape of `hops validate --format json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "severity": self.severity,
            "summary": self.summary,
            "detail": self.detail,
            "help": self.help,
            "file": self.file,
            "line": self.start.map(|p| p.line),
            "column": self.start.map(|p| p.column),
            "end_line": self.end.map(|p| p.line),
            "end_column": self.end.map(|p| p.column),
        })
    }

    /// Renders like rustc: header, `--> file:line:col`, the source line with a caret underline,
    /// and the help line. `source` is the text of the diagnostic's file, if available.
    pub fn render(&self, source: Option<&str>, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let (label, code) = match self.severity {
            Severity::Error => ("error", "1;31"),
            Severity::Warning => ("warning", "1;33"),
        };
        let mut out = format!(
            "{}{}\n",
            paint(code, label),
            paint("1", &format!(": {}", self.summary))
        );
        let gutter_width = self.start.map_or(1, |p| p.line.to_string().len());
        let pad = " ".repeat(gutter_width);
        if !self.file.is_empty() {
            let loc = match self.start {
                Some(p) => format!("{}:{}:{}", self.file, p.line, p.column),
                None => self.file.clone(),
            };
            let _ = writeln!(out, "{pad}{} {loc}", paint("1;34", "-->"));
        }
        if let (Some(text), Some(start)) = (source, self.start)
            && let Some(line) = text.lines().nth(start.line - 1)
        {
            let end_col = match self.end {
                Some(end) if end.line == start.line && end.column > start.column => end.column,
                _ => line.chars().count() + 1,
            };
            let width = end_col.saturating_sub(start.column).max(1);
            let bar = paint("1;34", "|");
            let _ = writeln!(out, "{pad} {bar}");
            let _ = writeln!(
                out,
                "{} {bar} {line}",
                paint("1;34", &start.line.to_string())
            );
            let marks = format!("{}{}", " ".repeat(start.column - 1), "^".repeat(width));
            let _ = writeln!(out, "{pad} {bar} {}", paint(code, &marks));
        }
        if !self.detail.is_empty() {
            let _ = writeln!(out, "{pad} = {}", self.detail);
        }
        if !self.help.is_empty() {
            let _ = writeln!(out, "{pad} = {}: {}", paint("1", "help"), self.help);
        }
        out
    }
}

/// A loaded file's text with a line index for turning byte offsets into positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the pipelines directory.
    pub path: String,
    /// The file's text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Indexes `text`.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// The 1-based position of byte `offset` (clamped to the text).
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let line_start = self.line_starts[line - 1];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |s| s.chars().count())
            + 1;
        Pos { line, column }
    }

    /// The byte offset of a 1-based position (used for parser errors that report line/column).
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        start
            + rest
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(rest.len(), |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_rendering() {
        let src = SourceFile::new("a/main.hops", "on foo {\n  bad = 1\n}\n");
        assert_eq!(src.pos(0), Pos { line: 1, column: 1 });
        assert_eq!(src.pos(11), Pos { line: 2, column: 3 });
        assert_eq!(src.offset(2, 3), 11);
        let d = Diagnostic::error(
            "Unsupported argument",
            "An argument named \"bad\" is not expected here.",
        )
        .with_help("remove it")
        .at(&src, Some(11..14));
        let text = d.render(Some(&src.text), false);
        assert!(text.starts_with("error: Unsupported argument\n"), "{text}");
        assert!(text.contains("--> a/main.hops:2:3"), "{text}");
        assert!(text.contains("2 |   bad = 1\n"), "{text}");
        assert!(text.contains("  |   ^^^\n"), "{text}");
        assert!(text.contains("= help: remove it"), "{text}");
        assert_eq!(
            d.one_line(),
            "a/main.hops:2:3: Unsupported argument: An argument named \"bad\" is not expected here."
        );
        assert_eq!(d.to_json()["end_column"], 6);
    }
}
