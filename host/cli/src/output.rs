//! Terminal output helpers: colour only on a terminal and only without `NO_COLOR`.

use std::io::IsTerminal as _;

/// Whether stdout should be coloured.
pub fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Whether stderr should be coloured.
pub fn color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// `error:` in bold red on a terminal.
pub fn error_label() -> &'static str {
    if color_stderr() {
        "\x1b[1;31merror:\x1b[0m"
    } else {
        "error:"
    }
}

/// `warning:` in bold yellow on a terminal.
pub fn warning_label() -> &'static str {
    if color_stderr() {
        "\x1b[1;33mwarning:\x1b[0m"
    } else {
        "warning:"
    }
}

/// How remote commands decorate stdout: symbols on a terminal, colour on a terminal without
/// `NO_COLOR`, plain words when piped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Use ANSI colours.
    pub color: bool,
    /// Use symbols (✓ ✗ …) instead of words.
    pub symbols: bool,
}

impl Style {
    /// The style for stdout.
    pub fn stdout() -> Self {
        Style {
            color: color_stdout(),
            symbols: std::io::stdout().is_terminal(),
        }
    }

    /// No decoration at all.
    #[cfg(test)]
    pub fn plain() -> Self {
        Style {
            color: false,
            symbols: false,
        }
    }

    /// `text` in `color`, when colour is on.
    pub fn paint(self, text: &str, color: Color) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", color.code())
        } else {
            text.to_owned()
        }
    }
}

/// The few colours remote commands use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// Success.
    Green,
    /// Failure.
    Red,
    /// Waiting or running.
    Yellow,
    /// Secondary text.
    Dim,
    /// Headings and names.
    Bold,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Green => "32",
            Color::Red => "31",
            Color::Yellow => "33",
            Color::Dim => "2",
            Color::Bold => "1",
        }
    }
}
