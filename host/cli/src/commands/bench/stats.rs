//! Percentiles of a sample and the JSON/human shapes of a figure.

use serde_json::{Value, json};

/// p50/p90/p99 of a sample (nearest rank); zeros for an empty sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// Computes the percentiles of `sample`.
    pub fn of(mut sample: Vec<f64>) -> Percentiles {
        if sample.is_empty() {
            return Percentiles {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
            };
        }
        sample.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let len = sample.len();
            // Nearest-rank: the smallest value with at least q of the sample at or below it.
            let index = ((q * len as f64).ceil() as usize).clamp(1, len) - 1;
            sample[index]
        };
        Percentiles {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
        }
    }

    /// `{"p50": …, "p90": …, "p99": …}`, rounded to three decimals.
    pub fn to_json(self) -> Value {
        json!({"p50": round3(self.p50), "p90": round3(self.p90), "p99": round3(self.p99)})
    }
}

/// Rounds to three decimals.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p90, p.p99), (50.0, 90.0, 99.0));
        let one = Percentiles::of(vec![7.0]);
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
        assert_eq!(Percentiles::of(Vec::new()).p50, 0.0);
    }
}
