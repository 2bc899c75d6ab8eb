//! Schedules: at each tick, publish the schedule's event. The run id is derived from the
//! schedule and the tick, so replicas firing the same tick start one run.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hops_core::{EventMeta, EventSink, SourceEvent};
use hops_pipeline::{PipelineSet, Schedule};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::pipelines::PipelineStore;

/// The event of `schedule` for the tick at `tick`:
/// `{...inputs, "trigger_time": "25 Apr 24 18:36 +0000", "trigger_at": "<RFC 3339>", "hops": {...}}`.
pub fn tick_event(schedule: &Schedule, tick: DateTime<Utc>) -> SourceEvent {
    let mut payload = schedule.inputs.clone();
    // The original engine's format (RFC 822 with a numeric zone, minute precision), kept for
    // pipelines written for it, plus an RFC 3339 timestamp.
    payload.insert(
        "trigger_time".to_owned(),
        Value::String(tick.format("%d %b %y %H:%M %z").to_string()),
    );
    payload.insert(
        "trigger_at".to_owned(),
        Value::String(tick.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    );
    SourceEvent::new(
        payload,
        EventMeta {
            source: "hiphops".to_owned(),
            event: "schedule".to_owned(),
            action: schedule.name.clone(),
        },
    )
}

/// The run id of a schedule's tick: the same on every replica.
pub fn tick_run_id(schedule: &str, tick: DateTime<Utc>) -> String {
    let key = format!(
        "schedule/{schedule}/{}",
        tick.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string()
}

fn next_tick(set: &PipelineSet, after: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<Schedule>)> {
    let mut best: Option<(DateTime<Utc>, Vec<Schedule>)> = None;
    for schedule in &set.schedules {
        let Some(at) = schedule.cron.next_after(after) else {
            continue;
        };
        match &mut best {
            Some((t, due)) if *t == at => due.push(schedule.clone()),
            Some((t, _)) if *t < at => {}
            _ => best = Some((at, vec![schedule.clone()])),
        }
    }
    best
}

/// Fires the schedules of the current pipelines until `cancel`. Ticks missed while no host was
/// running are not caught up.
pub async fn run(store: Arc<PipelineStore>, sink: Arc<dyn EventSink>, cancel: CancellationToken) {
    let mut changes = store.subscribe();
    let mut after = Utc::now();
    loop {
        let planned = store.current().and_then(|set| next_tick(&set, after));
        let sleep = match &planned {
            Some((at, _)) => (*at - Utc::now()).to_std().unwrap_or_default(),
            None => std::time::Duration::from_secs(3600),
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = changes.changed() => {
                // New pipelines: plan again from now (ticks already fired are not repeated).
                after = after.max(Utc::now() - chrono::Duration::seconds(1));
                continue;
            }
            () = tokio::time::sleep(sleep) => {}
        }
        let Some((at, due)) = planned else { continue };
        for schedule in due {
            let run_id = tick_run_id(&schedule.name, at);
            match sink.emit(tick_event(&schedule, at), run_id.clone()).await {
                Ok(e) if e.duplicate => {}
                Ok(_) => info!(schedule = %schedule.name, run_id = %run_id, "schedule fired"),
                Err(err) => {
                    warn!(schedule = %schedule.name, error = %err, "schedule could not publish its event")
                }
            }
        }
        after = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_events_and_ids_are_deterministic() {
        let set = PipelineSet::from_files([("a/main.hops".to_owned(), b"schedule nightly {\n  cron = \"30 2 * * *\"\n  inputs = { team = \"ops\" }\n}\nschedule hourly {\n  cron = \"@hourly\"\n}\n".to_vec())].into());
        assert!(!set.has_errors(), "{:?}", set.diagnostics);
        let now = DateTime::parse_from_rfc3339("2024-04-25T01:10:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (at, due) = next_tick(&set, now).unwrap();
        assert_eq!(at.to_rfc3339(), "2024-04-25T02:00:00+00:00");
        assert_eq!(
            due.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["hourly"]
        );
        let (at, due) = next_tick(&set, at + chrono::Duration::minutes(29)).unwrap();
        assert_eq!(
            (at.to_rfc3339().as_str(), due[0].name.as_str()),
            ("2024-04-25T02:30:00+00:00", "nightly")
        );
        let event = tick_event(&due[0], at);
        assert_eq!(
            Value::Object(event.payload().clone()),
            serde_json::json!({"team": "ops", "trigger_time": "25 Apr 24 02:30 +0000", "trigger_at": "2024-04-25T02:30:00Z", "hops": {"source": "hiphops", "event": "schedule", "action": "nightly"}})
        );
        assert_eq!(tick_run_id("nightly", at), tick_run_id("nightly", at));
        assert_ne!(tick_run_id("nightly", at), tick_run_id("hourly", at));
    }
}
