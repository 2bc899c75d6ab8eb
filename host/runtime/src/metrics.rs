//! The host's Prometheus metrics (`GET /metrics`, the text exposition format).
//!
//! Counters count what this process did, once per fact: a run is counted as started by the
//! runner whose pin was stored, a pipeline as finished by the runner whose done marker was
//! stored, a call by the worker whose result was stored — a redelivery that finds the work
//! done counts nothing, so summing every host's series gives the cluster's totals. Gauges
//! that describe shared state (consumer backlogs, apps by state) are read when scraped.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `pipeline` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineLabels {
    pipeline: String,
}

/// `pipeline` and `outcome` (`completed` or `errored`) labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineOutcome {
    pipeline: String,
    outcome: &'static str,
}

/// `app` and `outcome` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppOutcome {
    app: String,
    outcome: &'static str,
}

/// `app` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    app: String,
}

/// `consumer` label (`runner`, or the app a worker consumer serves).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConsumerLabels {
    consumer: String,
}

/// `state` label of apps (`ready`, `error`, `quarantined`, `loading`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// Every metric of one host process.
pub struct Metrics {
    registry: Registry,
    runs_started: Family<PipelineLabels, Counter>,
    pipelines_finished: Family<PipelineOutcome, Counter>,
    runs_finished: Family<OutcomeLabels, Counter>,
    calls: Family<AppOutcome, Counter>,
    call_seconds: Family<AppLabels, Histogram>,
    consumer_pending: Family<ConsumerLabels, Gauge>,
    consumer_in_flight: Family<ConsumerLabels, Gauge>,
    apps: Family<StateLabels, Gauge>,
    inputs_open: Gauge,
    /// Not a metric: the last errored calls of each app, for the app listing.
    recent_errors: crate::recent_errors::RecentErrors,
}

/// `outcome` label alone.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

fn outcome(errored: bool) -> &'static str {
    if errored { "errored" } else { "completed" }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every metric registered and no samples yet.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let runs_started = Family::<PipelineLabels, Counter>::default();
        registry.register(
            "hops_runs_started",
            "Runs started, by pipeline they matched (a run matching two pipelines counts for each)",
            runs_started.clone(),
        );
        let pipelines_finished = Family::<PipelineOutcome, Counter>::default();
        registry.register(
            "hops_pipeline_runs_finished",
            "Pipelines of runs that ended, by pipeline and outcome (completed or errored)",
            pipelines_finished.clone(),
        );
        let runs_finished = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "hops_runs_finished",
            "Runs that ended, by outcome (completed or errored)",
            runs_finished.clone(),
        );
        let calls = Family::<AppOutcome, Counter>::default();
        registry.register(
            "hops_calls",
            "Calls whose result this host stored, by app and outcome (completed or errored)",
            calls.clone(),
        );
        let call_seconds = Family::<AppLabels, Histogram>::new_with_constructor(|| {
            // 100 µs to about 55 minutes.
            Histogram::new(exponential_buckets(0.0001, 2.5, 20))
        });
        registry.register(
            "hops_call_duration_seconds",
            "Time a call ran in its app, by app",
            call_seconds.clone(),
        );
        let consumer_pending = Family::<ConsumerLabels, Gauge>::default();
        registry.register(
            "hops_consumer_pending",
            "Messages not yet delivered to a consumer (runner, or the worker consumer of an app), read when scraped",
            consumer_pending.clone(),
        );
        let consumer_in_flight = Family::<ConsumerLabels, Gauge>::default();
        registry.register(
            "hops_consumer_in_flight",
            "Messages delivered to a consumer and not yet acknowledged, read when scraped",
            consumer_in_flight.clone(),
        );
        let apps = Family::<StateLabels, Gauge>::default();
        registry.register(
            "hops_apps",
            "Apps of this host by state (ready, error: failed to load, quarantined, loading)",
            apps.clone(),
        );
        let inputs_open = Gauge::default();
        registry.register(
            "hops_inputs_open",
            "Calls to the built-in input app waiting for a person's answer, read when scraped",
            inputs_open.clone(),
        );
        Metrics {
            registry,
            inputs_open,
            runs_started,
            pipelines_finished,
            runs_finished,
            calls,
            call_seconds,
            consumer_pending,
            consumer_in_flight,
            apps,
            recent_errors: Default::default(),
        }
    }

    /// A run was pinned by this runner and matched `pipeline`.
    pub fn run_started(&self, pipeline: &str) {
        self.runs_started
            .get_or_create(&PipelineLabels {
                pipeline: pipeline.to_owned(),
            })
            .inc();
    }

    /// This runner stored `pipeline`'s done marker.
    pub fn pipeline_finished(&self, pipeline: &str, errored: bool) {
        self.pipelines_finished
            .get_or_create(&PipelineOutcome {
                pipeline: pipeline.to_owned(),
                outcome: outcome(errored),
            })
            .inc();
    }

    /// This runner stored a run's own done marker.
    pub fn run_finished(&self, errored: bool) {
        self.runs_finished
            .get_or_create(&OutcomeLabels {
                outcome: outcome(errored),
            })
            .inc();
    }

    /// This worker stored a call's result; `ran` is the span its result records (about zero
    /// for a call that ended before its app ran, e.g. its inputs could not be read).
    pub fn call_stored(&self, app: &str, errored: bool, ran: Option<Duration>) {
        self.calls
            .get_or_create(&AppOutcome {
                app: app.to_owned(),
                outcome: outcome(errored),
            })
            .inc();
        if let Some(ran) = ran {
            self.call_seconds
                .get_or_create(&AppLabels {
                    app: app.to_owned(),
                })
                .observe(ran.as_secs_f64());
        }
    }

    /// The last errored calls of each app this process stored results for.
    pub fn recent_errors(&self) -> &crate::recent_errors::RecentErrors {
        &self.recent_errors
    }

    /// Sets the backlog gauges of consumer `consumer` as just read.
    pub fn set_consumer(&self, consumer: &str, pending: u64, in_flight: u64) {
        let labels = ConsumerLabels {
            consumer: consumer.to_owned(),
        };
        self.consumer_pending
            .get_or_create(&labels)
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
        self.consumer_in_flight
            .get_or_create(&labels)
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    }

    /// Sets the apps-by-state gauges from an app listing (`[{"status": {"state": …}}, …]`).
    pub fn set_apps(&self, listing: &serde_json::Value) {
        self.apps.clear();
        // Every state shows, zero included, so an alert on `hops_apps{state="error"} > 0`
        // has a series to watch before the first failure.
        for state in ["ready", "error", "quarantined", "loading"] {
            self.apps
                .get_or_create(&StateLabels {
                    state: state.to_owned(),
                })
                .set(0);
        }
        for app in listing.as_array().into_iter().flatten() {
            if let Some(state) = app.pointer("/status/state").and_then(|s| s.as_str()) {
                self.apps
                    .get_or_create(&StateLabels {
                        state: state.to_owned(),
                    })
                    .inc();
            }
        }
    }

    /// Sets how many inputs are open, as just read.
    pub fn set_inputs_open(&self, open: usize) {
        self.inputs_open
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Shared handle the runner, the worker loops and the API hold.
pub type SharedMetrics = Arc<Metrics>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text_format_with_their_labels() {
        let metrics = Metrics::new();
        metrics.run_started("deploy");
        metrics.run_started("deploy");
        metrics.pipeline_finished("deploy", true);
        metrics.run_finished(false);
        metrics.call_stored("echo", false, Some(Duration::from_millis(3)));
        metrics.set_consumer("runner", 4, 1);
        metrics.set_inputs_open(2);
        metrics.set_apps(&serde_json::json!([
            {"name": "a", "status": {"state": "ready"}},
            {"name": "b", "status": {"state": "error", "kind": "wrong-world"}}
        ]));
        let text = metrics.encode();
        for line in [
            "hops_runs_started_total{pipeline=\"deploy\"} 2",
            "hops_pipeline_runs_finished_total{pipeline=\"deploy\",outcome=\"errored\"} 1",
            "hops_runs_finished_total{outcome=\"completed\"} 1",
            "hops_calls_total{app=\"echo\",outcome=\"completed\"} 1",
            "hops_call_duration_seconds_count{app=\"echo\"} 1",
            "hops_consumer_pending{consumer=\"runner\"} 4",
            "hops_consumer_in_flight{consumer=\"runner\"} 1",
            "hops_apps{state=\"error\"} 1",
            "hops_apps{state=\"quarantined\"} 0",
            "hops_inputs_open 2",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
