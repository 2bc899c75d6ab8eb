//! Text rendering of runs and calls for people: status marks, names, durations, payloads.

use chrono::{DateTime, Utc};
use hops_api::{CallStatus, CallView, PipelineView, RunStatus, RunView};
use serde_json::Value;

use crate::output::{Color, Style};

/// Longest payload shown inline before it is cut with `…`.
const MAX_INLINE: usize = 240;

/// A call's status as a mark (terminal) or a padded word (piped).
pub fn call_mark(status: CallStatus, style: Style) -> String {
    let (symbol, color) = match status {
        CallStatus::Completed => ("✓", Color::Green),
        CallStatus::Errored => ("✗", Color::Red),
        CallStatus::Pending => ("○", Color::Dim),
        CallStatus::Waiting => ("⧖", Color::Yellow),
    };
    if style.symbols {
        style.paint(symbol, color)
    } else {
        format!("{:<9}", status.as_str())
    }
}

/// A run's (or pipeline's) status as a mark (terminal) or a padded word (piped).
pub fn run_mark(status: RunStatus, style: Style) -> String {
    let (symbol, color) = match status {
        RunStatus::Completed => ("✓", Color::Green),
        RunStatus::Errored => ("✗", Color::Red),
        RunStatus::Running => ("○", Color::Yellow),
    };
    if style.symbols {
        style.paint(symbol, color)
    } else {
        format!("{:<9}", status.as_str())
    }
}

/// A run status word, coloured when colour is on.
pub fn run_word(status: RunStatus, style: Style) -> String {
    let color = match status {
        RunStatus::Completed => Color::Green,
        RunStatus::Errored => Color::Red,
        RunStatus::Running => Color::Yellow,
    };
    style.paint(status.as_str(), color)
}

/// One line for a call: `✓ pipeline.name  app.handler  12ms`, or why it waits.
pub fn call_line(call: &CallView, style: Style) -> String {
    let mut line = format!(
        "  {} {}  {}",
        call_mark(call.status, style),
        style.paint(&format!("{}.{}", call.pipeline, call.name), Color::Bold),
        style.paint(&format!("{}.{}", call.app, call.handler), Color::Dim),
    );
    if let Some(ms) = call.duration_ms {
        line.push_str(&format!("  {}", format_ms(ms)));
    }
    if let Some(attempts) = call.attempts.filter(|a| *a > 1) {
        line.push_str(&format!("  ({attempts} attempts)"));
    }
    if call.status == CallStatus::Waiting {
        line.push_str(&format!(
            "  {}",
            style.paint(&waiting_text(call), Color::Yellow)
        ));
    }
    line
}

/// `waiting for app slack (no worker serves it)`.
pub fn waiting_text(call: &CallView) -> String {
    let prefix = format!("app {}: ", call.app);
    let reason = call
        .waiting_for
        .as_deref()
        .map(|why| why.strip_prefix(&prefix).unwrap_or(why))
        .filter(|why| !why.is_empty())
        .unwrap_or("no worker serves it");
    format!("waiting for app {} ({reason})", call.app)
}

/// The indented detail lines under a call: inputs, then result or error.
pub fn call_details(call: &CallView, style: Style) -> Vec<String> {
    let mut lines = vec![format!(
        "      {} {}",
        style.paint("inputs", Color::Dim),
        compact(&call.inputs)
    )];
    if let Some(result) = &call.result {
        lines.push(format!(
            "      {} {}",
            style.paint("result", Color::Dim),
            compact(result)
        ));
    }
    if let Some(error) = &call.error {
        lines.push(format!(
            "      {}  {}",
            style.paint("error", Color::Red),
            error
        ));
    }
    lines
}

/// The whole timeline of a run.
pub fn render_run(run: &RunView, style: Style) -> String {
    let mut out = vec![run_header(run, style)];
    out.push(format!(
        "{}   {}",
        style.paint("event", Color::Dim),
        event_line(&run.event)
    ));
    out.push(format!(
        "{} {}",
        style.paint("started", Color::Dim),
        format_time(run.started_at)
    ));
    out.push(String::new());
    if run.calls.is_empty() {
        out.push(style.paint("no calls yet", Color::Dim));
    } else {
        out.push(style.paint("calls", Color::Bold));
        for call in &run.calls {
            out.push(call_line(call, style));
            out.extend(call_details(call, style));
        }
    }
    if !run.pipelines.is_empty() {
        out.push(String::new());
        out.push(style.paint("pipelines", Color::Bold));
        out.extend(run.pipelines.iter().map(|p| pipeline_line(p, style)));
    }
    if let Some(error) = &run.error {
        out.push(String::new());
        out.push(format!("{}   {error}", style.paint("error", Color::Red)));
    }
    out.join("\n")
}

/// `run <id>  completed  (42ms)`.
pub fn run_header(run: &RunView, style: Style) -> String {
    let mut line = format!(
        "{} {}  {}",
        style.paint("run", Color::Bold),
        run.run_id,
        run_word(run.status, style)
    );
    if let Some(finished) = run.finished_at {
        line.push_str(&format!("  ({})", format_span(run.started_at, finished)));
    }
    line
}

/// `✓ main  completed`.
pub fn pipeline_line(pipeline: &PipelineView, style: Style) -> String {
    if style.symbols {
        format!(
            "  {} {}  {}",
            run_mark(pipeline.status, style),
            pipeline.name,
            run_word(pipeline.status, style)
        )
    } else {
        format!("  {} {}", run_mark(pipeline.status, style), pipeline.name)
    }
}

/// `source / event / action  {payload without hops}`.
pub fn event_line(event: &Value) -> String {
    let hops = event.get("hops");
    let field = |key: &str| {
        hops.and_then(|h| h.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let name = event_name(&field("source"), &field("event"), &field("action"));
    let mut payload = event.as_object().cloned().unwrap_or_default();
    payload.remove("hops");
    if payload.is_empty() {
        name
    } else {
        format!("{name}   {}", compact(&Value::Object(payload)))
    }
}

/// `source/event/action`, leaving out empty parts.
pub fn event_name(source: &str, event: &str, action: &str) -> String {
    [source, event, action]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// Compact JSON, cut at [`MAX_INLINE`] characters.
pub fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_INLINE {
        return text;
    }
    let cut: String = text.chars().take(MAX_INLINE).collect();
    format!("{cut}…")
}

/// `12ms`, `1.2s`, `2m03s`, `1h05m`.
pub fn format_ms(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

/// The time between two instants (0 when they are out of order).
pub fn format_span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format_ms(u64::try_from((to - from).num_milliseconds()).unwrap_or(0))
}

/// `2026-11-24 10:00:01 UTC`.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(status: CallStatus) -> CallView {
        CallView {
            name: "notify".into(),
            pipeline: "main".into(),
            app: "slack".into(),
            handler: "post".into(),
            status,
            inputs: json!({"text": "hi"}),
            result: None,
            error: None,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            waiting_for: Some("app slack: no worker serves it".into()),
            attempts: None,
            previous_attempts: Vec::new(),
        }
    }

    #[test]
    fn renders_calls_plainly_when_piped() {
        let style = Style::plain();
        assert_eq!(
            call_line(&call(CallStatus::Waiting), style),
            "  waiting   main.notify  slack.post  waiting for app slack (no worker serves it)"
        );
        let mut done = call(CallStatus::Errored);
        done.duration_ms = Some(1234);
        done.attempts = Some(3);
        done.error = Some("boom".into());
        assert_eq!(
            call_line(&done, style),
            "  errored   main.notify  slack.post  1.2s  (3 attempts)"
        );
        assert_eq!(
            call_details(&done, style),
            ["      inputs {\"text\":\"hi\"}", "      error  boom"]
        );
    }

    #[test]
    fn uses_symbols_on_a_terminal() {
        let style = Style {
            color: false,
            symbols: true,
        };
        assert!(call_line(&call(CallStatus::Completed), style).starts_with("  ✓ main.notify"));
    }

    #[test]
    fn formats_durations_and_events() {
        assert_eq!(format_ms(12), "12ms");
        assert_eq!(format_ms(1_250), "1.2s");
        assert_eq!(format_ms(123_000), "2m03s");
        assert_eq!(format_ms(3_900_000), "1h05m");
        assert_eq!(
            event_line(&json!({"n": 1, "hops": {"source": "me", "event": "deploy", "action": ""}})),
            "me/deploy   {\"n\":1}"
        );
        let long = compact(&json!("x".repeat(500)));
        assert!(long.ends_with('…') && long.chars().count() == MAX_INLINE + 1);
    }
}
