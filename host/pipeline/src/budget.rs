//! Evaluation budgets: what one evaluation of one pipeline (or one load-time value) may cost.
//!
//! Pipelines run on hostile input: a 200 KB event fed to a nested `for` can ask for billions of
//! values, and Rust aborts the whole process when an allocation fails. Every evaluation
//! therefore carries a [`Budget`] that counts what it produces — list elements, object
//! entries, `for` iterations, bytes of text — and watches the clock; the evaluator and the
//! functions charge it *before* they allocate, so going over the limit is an ordinary error
//! ([`Exceeded`]) that ends that one pipeline, never the host. Expression nesting is bounded
//! when pipelines load ([`EvalLimits::max_depth`]).

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The limits of one evaluation. The defaults leave every pipeline of the original engine
/// (and any sane one) far inside them while keeping a runaway evaluation to a few hundred
/// megabytes and a couple of seconds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalLimits {
    /// Values one evaluation may produce: list elements, object entries and `for` iterations.
    pub max_elements: u64,
    /// Bytes of text one evaluation may produce or copy.
    pub max_bytes: u64,
    /// How deeply expressions may nest (checked when pipelines load).
    pub max_depth: usize,
    /// Wall time one evaluation may take.
    pub max_time: Duration,
}

impl Default for EvalLimits {
    fn default() -> Self {
        EvalLimits {
            max_elements: 1_000_000,
            max_bytes: 64 << 20,
            // hcl-edit itself stops at 64 nested levels and 128 chained operators.
            max_depth: 256,
            max_time: Duration::from_secs(2),
        }
    }
}

/// Which limit an evaluation went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`EvalLimits::max_elements`].
    Elements,
    /// [`EvalLimits::max_bytes`].
    Bytes,
    /// [`EvalLimits::max_time`].
    Time,
}

/// An evaluation went over its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// The limit.
    pub limit: Limit,
    /// Its value, as configured.
    pub value: String,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, flag) = match self.limit {
            Limit::Elements => ("produced more than {} values", "--eval-max-elements"),
            Limit::Bytes => ("produced more than {} of text", "--eval-max-bytes"),
            Limit::Time => ("took longer than {}", "--eval-max-time"),
        };
        write!(
            f,
            "evaluation budget exceeded: the expression {}; raise the host's limit with {flag} if this is intended",
            what.replace("{}", &self.value)
        )
    }
}

impl std::error::Error for Exceeded {}

/// How often (in charges) the clock is read: often enough to stop within milliseconds of the
/// limit, rarely enough to cost nothing.
const CLOCK_EVERY: u32 = 256;

/// The running account of one evaluation. Single-threaded (an evaluation is synchronous).
#[derive(Debug)]
pub struct Budget {
    limits: EvalLimits,
    elements: Cell<u64>,
    bytes: Cell<u64>,
    started: Instant,
    charges: Cell<u32>,
    /// The first limit passed: once spent, the budget stays spent for the whole evaluation.
    spent: Cell<Option<Limit>>,
}

impl Budget {
    /// A fresh budget; the clock starts now.
    pub fn new(limits: EvalLimits) -> Budget {
        Budget {
            limits,
            elements: Cell::new(0),
            bytes: Cell::new(0),
            started: Instant::now(),
            charges: Cell::new(0),
            spent: Cell::new(None),
        }
    }

    /// A budget with no practical limits, for callers that evaluate trusted constants.
    pub fn unlimited() -> Budget {
        Budget::new(EvalLimits {
            max_elements: u64::MAX,
            max_bytes: u64::MAX,
            max_depth: usize::MAX,
            max_time: Duration::MAX,
        })
    }

    /// The limits this budget enforces.
    pub fn limits(&self) -> &EvalLimits {
        &self.limits
    }

    /// Charges `elements` values and `bytes` of text; fails once either total passes its
    /// limit, or the evaluation has run out of time.
    pub fn charge(&self, elements: u64, bytes: u64) -> Result<(), Exceeded> {
        if let Some(limit) = self.spent.get() {
            return Err(self.exceeded(limit));
        }
        let e = self.elements.get().saturating_add(elements);
        self.elements.set(e);
        if e > self.limits.max_elements {
            return Err(self.exceeded(Limit::Elements));
        }
        let b = self.bytes.get().saturating_add(bytes);
        self.bytes.set(b);
        if b > self.limits.max_bytes {
            return Err(self.exceeded(Limit::Bytes));
        }
        let n = self.charges.get().wrapping_add(1);
        self.charges.set(n);
        if n.is_multiple_of(CLOCK_EVERY) {
            self.check_time()?;
        }
        Ok(())
    }

    /// Fails when the evaluation has run longer than its limit.
    pub fn check_time(&self) -> Result<(), Exceeded> {
        if let Some(limit) = self.spent.get() {
            return Err(self.exceeded(limit));
        }
        if self.started.elapsed() > self.limits.max_time {
            return Err(self.exceeded(Limit::Time));
        }
        Ok(())
    }

    /// Charges a copy of `value`: one element per list element and object entry, its text in
    /// bytes. Stops walking as soon as the budget is spent, so charging a huge value costs no
    /// more than the budget itself.
    pub fn charge_value(&self, value: &Value) -> Result<(), Exceeded> {
        match value {
            Value::String(s) => self.charge(0, s.len() as u64),
            Value::Array(items) => {
                self.charge(items.len() as u64, 0)?;
                items.iter().try_for_each(|v| self.charge_value(v))
            }
            Value::Object(map) => {
                self.charge(map.len() as u64, 0)?;
                map.iter().try_for_each(|(k, v)| {
                    self.charge(0, k.len() as u64)?;
                    self.charge_value(v)
                })
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }

    /// Elements and bytes left before the limits.
    pub fn remaining(&self) -> (u64, u64) {
        (
            self.limits.max_elements.saturating_sub(self.elements.get()),
            self.limits.max_bytes.saturating_sub(self.bytes.get()),
        )
    }

    /// The limit this evaluation went over, if any.
    pub fn spent(&self) -> Option<Exceeded> {
        self.spent.get().map(|limit| self.exceeded(limit))
    }

    fn exceeded(&self, limit: Limit) -> Exceeded {
        self.spent.set(Some(limit));
        let value = match limit {
            Limit::Elements => self.limits.max_elements.to_string(),
            Limit::Bytes => format_bytes(self.limits.max_bytes),
            Limit::Time => humantime::format_duration(self.limits.max_time).to_string(),
        };
        Exceeded { limit, value }
    }
}

/// `64 MiB`, `512 KiB`, `100 B`.
pub fn format_bytes(n: u64) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn small() -> EvalLimits {
        EvalLimits {
            max_elements: 10,
            max_bytes: 100,
            max_depth: 8,
            max_time: Duration::from_secs(5),
        }
    }

    #[test]
    fn elements_and_bytes_are_counted_until_the_limit() {
        let budget = Budget::new(small());
        budget.charge(10, 100).unwrap();
        assert_eq!(budget.remaining(), (0, 0));
        let err = budget.charge(1, 0).unwrap_err();
        assert_eq!(err.limit, Limit::Elements);
        assert!(
            err.to_string().contains(
                "produced more than 10 values; raise the host's limit with --eval-max-elements"
            ),
            "{err}"
        );
        let budget = Budget::new(small());
        let err = budget.charge(0, 101).unwrap_err();
        assert_eq!(err.limit, Limit::Bytes);
        assert!(err.to_string().contains("more than 100 B of text"), "{err}");
    }

    #[test]
    fn copies_are_charged_by_size_and_stop_early() {
        let budget = Budget::new(small());
        budget
            .charge_value(&json!({"a": ["xy", "z"], "b": null}))
            .unwrap();
        // 2 entries + 2 elements, 1 + 1 key bytes + 3 string bytes.
        assert_eq!(budget.remaining(), (6, 95));
        let huge = Value::Array(vec![json!(1); 1_000_000]);
        assert!(Budget::new(small()).charge_value(&huge).is_err());
    }

    #[test]
    fn time_is_checked() {
        let budget = Budget::new(EvalLimits {
            max_time: Duration::ZERO,
            ..EvalLimits::default()
        });
        std::thread::sleep(Duration::from_millis(2));
        let err = (0..CLOCK_EVERY)
            .try_for_each(|_| budget.charge(0, 0))
            .unwrap_err();
        assert_eq!(err.limit, Limit::Time);
        assert!(
            Budget::unlimited()
                .charge(u64::MAX - 1, u64::MAX - 1)
                .is_ok()
        );
    }

    #[test]
    fn bytes_are_formatted_for_people() {
        assert_eq!(format_bytes(64 << 20), "64 MiB");
        assert_eq!(format_bytes(1 << 30), "1 GiB");
        assert_eq!(format_bytes(1536), "1536 B");
        assert_eq!(format_bytes(2048), "2 KiB");
    }
}
