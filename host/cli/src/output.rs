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
