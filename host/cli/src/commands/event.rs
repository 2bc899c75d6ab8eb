//! `hops event send --source S --event E [--action A] [--data JSON|@FILE|-] [--dedup KEY]`.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};

use crate::cli::remote::{EventCommand, EventSendArgs};
use crate::commands::remote;

/// Dispatches `hops event …`.
pub async fn run(command: EventCommand) -> anyhow::Result<ExitCode> {
    match command {
        EventCommand::Send(args) => send(args).await,
    }
}

async fn send(args: EventSendArgs) -> anyhow::Result<ExitCode> {
    let mut event = match &args.data {
        Some(data) => payload(data)?,
        None => Map::new(),
    };
    event.insert(
        "hops".to_owned(),
        json!({
            "source": args.source,
            "event": args.event,
            "action": args.action.clone().unwrap_or_default(),
        }),
    );
    let client = remote::connect(&args.api)?;
    let accepted = client
        .send_event(&Value::Object(event), args.dedup.as_deref())
        .await
        .context("cannot send the event")?;
    remote::report_started(&client, &accepted, &args.wait, args.json).await
}

/// `--data`: inline JSON, `@FILE`, or `-` for stdin; it must be a JSON object.
fn payload(data: &str) -> anyhow::Result<Map<String, Value>> {
    let (text, from) = if data == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read --data from stdin")?;
        (text, "stdin".to_owned())
    } else if let Some(path) = data.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --data file {path}"))?;
        (text, path.to_owned())
    } else {
        (data.to_owned(), "--data".to_owned())
    };
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{from} is not valid JSON"))?;
    match value {
        Value::Object(map) => Ok(map),
        other => bail!(
            "{from} must be a JSON object (the event's payload), got {}; e.g. --data '{{\"ref\": \"main\"}}'",
            kind(&other)
        ),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_must_be_a_json_object() {
        assert_eq!(payload(r#"{"a": 1}"#).unwrap()["a"], 1);
        let err = payload("[1]").unwrap_err().to_string();
        assert!(err.starts_with("--data must be a JSON object"), "{err}");
        let err = format!("{:#}", payload("{nope").unwrap_err());
        assert!(err.starts_with("--data is not valid JSON"), "{err}");
        let err = format!("{:#}", payload("@/nonexistent/file.json").unwrap_err());
        assert!(
            err.starts_with("cannot read --data file /nonexistent/file.json"),
            "{err}"
        );
    }
}
