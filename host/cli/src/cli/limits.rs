//! Flags that bound what pipelines, apps and clients may cost a host (`up`, `start`, and the
//! evaluation flags of `validate`).

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hops_pipeline::{EvalLimits, PipelineEnv};
use hops_runtime::{EvalSettings, RunRateLimit};

/// How pipelines are evaluated: what they may read from the environment, and the budget of
/// each evaluation.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Pipeline evaluation")]
pub struct EvalArgs {
    /// Environment variables pipelines may read with `env()`, besides those named
    /// `HOPS_PIPELINE_*` (comma-separated). Hops' own `HOPS_*` settings are never readable.
    #[arg(
        long = "pipeline-env",
        env = "HOPS_PIPELINE_ENV",
        value_delimiter = ',',
        value_name = "NAMES"
    )]
    pub pipeline_env: Vec<String>,
    /// Values (list elements, object entries, `for` iterations) one evaluation of one
    /// pipeline may produce.
    #[arg(
        long,
        env = "HOPS_EVAL_MAX_ELEMENTS",
        default_value_t = 1_000_000,
        value_name = "N"
    )]
    pub eval_max_elements: u64,
    /// Text one evaluation may produce or copy (e.g. `64MiB`).
    #[arg(long, env = "HOPS_EVAL_MAX_BYTES", default_value = "64MiB", value_parser = parse_bytes, value_name = "SIZE")]
    pub eval_max_bytes: u64,
    /// Time one evaluation may take (e.g. `2s`).
    #[arg(long, env = "HOPS_EVAL_MAX_TIME", default_value = "2s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub eval_max_time: Duration,
}

impl EvalArgs {
    /// The evaluation settings these flags describe.
    ///
    /// # Errors
    ///
    /// When `--pipeline-env` names one of Hops' own settings or is not a variable name.
    pub fn settings(&self) -> anyhow::Result<EvalSettings> {
        let env = PipelineEnv::allowing(&self.pipeline_env).map_err(anyhow::Error::msg)?;
        Ok(EvalSettings {
            env: Arc::new(env),
            limits: EvalLimits {
                max_elements: self.eval_max_elements,
                max_bytes: self.eval_max_bytes,
                max_time: self.eval_max_time,
                ..EvalLimits::default()
            },
        })
    }
}

/// Limits on runaway work and on clients.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Runs one pipeline may start per second on this host (0: no limit); runs over it end
    /// errored with the reason.
    #[arg(
        long,
        env = "HOPS_MAX_RUNS_PER_SECOND",
        default_value_t = 100.0,
        value_name = "N"
    )]
    pub max_runs_per_second: f64,
    /// Runs one pipeline may start in a burst above `--max-runs-per-second`.
    #[arg(
        long,
        env = "HOPS_MAX_RUNS_BURST",
        default_value_t = 1000.0,
        value_name = "N"
    )]
    pub max_runs_burst: f64,
    /// Run steps (events and results) this host's runner works on at once; it pulls no more
    /// from the stream than that, so a flood of events waits in JetStream, not in memory.
    #[arg(
        long,
        env = "HOPS_MAX_IN_FLIGHT",
        default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub max_in_flight: u32,
    /// How long a call to an app no worker serves (not installed, or refused at load: see
    /// `hops apps`) waits for one before it ends errored with the reason; a call's own
    /// `timeout` shortens it.
    #[arg(long, env = "HOPS_APP_WAIT_TIMEOUT", default_value = "5m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub app_wait_timeout: Duration,
    /// Events one app call, webhook or listener tick may emit.
    #[arg(long, env = "HOPS_MAX_EMITS", default_value_t = 100, value_name = "N")]
    pub max_emits: u32,
    /// How deep a chain of runs started by emitted events may go (a pipeline triggering
    /// itself is stopped there).
    #[arg(
        long,
        env = "HOPS_MAX_EVENT_DEPTH",
        default_value_t = 8,
        value_name = "N"
    )]
    pub max_event_depth: u32,
    /// The largest result, call input or event stored (larger results end the call errored).
    #[arg(long, env = "HOPS_MAX_PAYLOAD", default_value = "64MiB", value_parser = parse_bytes, value_name = "SIZE")]
    pub max_payload: u64,
    /// Payloads larger than this go to the JetStream object store instead of the message
    /// (default: half the server's max payload, at most 512KiB).
    #[arg(long, env = "HOPS_PAYLOAD_INLINE_MAX", value_parser = parse_bytes, value_name = "SIZE")]
    pub payload_inline_max: Option<u64>,
    /// Messages older than this leave the stream (e.g. `90d`; default: kept until purged).
    /// A run still going when its messages expire loses its exactly-once guarantee: make it
    /// far longer than any run, or purge ended runs with `hops runs purge` instead.
    #[arg(long, env = "HOPS_STREAM_MAX_AGE", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub stream_max_age: Option<Duration>,
    /// Connections the API serves at once; one more is answered 503.
    #[arg(
        long,
        env = "HOPS_API_MAX_CONNECTIONS",
        default_value_t = 512,
        value_name = "N"
    )]
    pub api_max_connections: usize,
    /// Time a client has to send a request's head (idle keep-alive connections close then).
    #[arg(long, env = "HOPS_API_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub api_header_timeout: Duration,
    /// Time a client has to send a request's body.
    #[arg(long, env = "HOPS_API_BODY_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub api_body_timeout: Duration,
}

impl LimitArgs {
    /// The per-pipeline run rate.
    pub fn run_rate(&self) -> RunRateLimit {
        RunRateLimit {
            per_second: self.max_runs_per_second.max(0.0),
            burst: self.max_runs_burst.max(1.0),
        }
    }

    /// What every app may emit.
    pub fn app_limits(&self) -> hops_wasm::AppLimits {
        hops_wasm::AppLimits {
            max_emits: self.max_emits,
            max_event_depth: self.max_event_depth,
        }
    }

    /// The API server's limits.
    pub fn serve_limits(&self) -> hops_api::ServeLimits {
        hops_api::ServeLimits {
            header_read_timeout: self.api_header_timeout,
            body_read_timeout: self.api_body_timeout,
            max_connections: self.api_max_connections.max(1),
            ..hops_api::ServeLimits::default()
        }
    }

    /// Applies the payload limits and the stream's age limit to a bus configuration.
    pub fn apply_to(&self, bus: &mut hops_bus::BusConfig) {
        bus.stream_max_age = self.stream_max_age;
        bus.payload_max = usize::try_from(self.max_payload).unwrap_or(usize::MAX);
        bus.payload_inline_max = self
            .payload_inline_max
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    }
}

/// Parses `1048576`, `512KiB`, `64 MiB`, `1GiB` (also `KB`/`MB`/`GB`, meaning the same powers
/// of two, and `K`/`M`/`G`).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 1048576, 512KiB, 64MiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {text:?}; use B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert_eq!(parse_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        assert!(parse_bytes("ten").is_err());
        assert!(
            parse_bytes("5 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
    }
}
