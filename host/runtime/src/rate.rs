//! [`RunRate`]: how many runs one pipeline may start per second on this host. A pipeline
//! that floods (a loop the event-depth guard cannot see, such as a webhook that calls the
//! host's own API) gets its new runs stopped with an errored done that says why, instead of
//! drowning every other pipeline.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limit: a token bucket per pipeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunRateLimit {
    /// Runs per second one pipeline may start, sustained; 0 turns the limit off.
    pub per_second: f64,
    /// Runs one pipeline may start in a burst above that rate.
    pub burst: f64,
}

impl Default for RunRateLimit {
    fn default() -> Self {
        RunRateLimit {
            per_second: 100.0,
            burst: 1_000.0,
        }
    }
}

impl RunRateLimit {
    /// No limit.
    pub const UNLIMITED: RunRateLimit = RunRateLimit {
        per_second: 0.0,
        burst: 0.0,
    };
}

struct Bucket {
    tokens: f64,
    at: Instant,
    last_warned: Option<Instant>,
}

/// Buckets by pipeline slug.
pub(crate) struct RunRate {
    limit: RunRateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// What [`RunRate::admit`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Start the run.
    Admitted,
    /// Stop it; `warn` is true at most once a second per pipeline (for the log line).
    Refused {
        /// Whether to log this refusal.
        warn: bool,
    },
}

impl RunRate {
    pub(crate) fn new(limit: RunRateLimit) -> RunRate {
        RunRate {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn limit(&self) -> RunRateLimit {
        self.limit
    }

    /// Takes one run from `pipeline`'s bucket.
    pub(crate) fn admit(&self, pipeline: &str) -> Admission {
        self.admit_at(pipeline, Instant::now())
    }

    fn admit_at(&self, pipeline: &str, now: Instant) -> Admission {
        if self.limit.per_second <= 0.0 {
            return Admission::Admitted;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Admission::Admitted;
        };
        let capacity = self.limit.burst.max(1.0);
        let bucket = buckets.entry(pipeline.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
            last_warned: None,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limit.per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Admission::Admitted;
        }
        let warn = bucket
            .last_warned
            .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1));
        if warn {
            bucket.last_warned = Some(now);
        }
        Admission::Refused { warn }
    }
}

/// The errored done of a run stopped by the limit.
pub(crate) fn refused_message(pipeline: &str, limit: RunRateLimit) -> String {
    format!(
        "pipeline {pipeline} started more than {} runs per second (bursts of {}) on this host, so this run was stopped; \
         if the volume is intended, raise --max-runs-per-second (0 turns the limit off), otherwise look for what keeps triggering it",
        limit.per_second, limit.burst
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let rate = RunRate::new(RunRateLimit {
            per_second: 10.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(rate.admit_at("p", t0), Admission::Admitted);
        }
        assert_eq!(rate.admit_at("p", t0), Admission::Refused { warn: true });
        assert_eq!(rate.admit_at("p", t0), Admission::Refused { warn: false });
        // Other pipelines have their own bucket.
        assert_eq!(rate.admit_at("q", t0), Admission::Admitted);
        // 100 ms later one token is back.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(rate.admit_at("p", t1), Admission::Admitted);
        assert_eq!(rate.admit_at("p", t1), Admission::Refused { warn: false });
        assert_eq!(
            rate.admit_at("p", t0 + Duration::from_millis(1200)),
            Admission::Admitted
        );
        let off = RunRate::new(RunRateLimit::UNLIMITED);
        assert!((0..10_000).all(|_| off.admit("p") == Admission::Admitted));
        assert!(
            refused_message("loop", rate.limit())
                .contains("pipeline loop started more than 10 runs per second")
        );
    }
}
