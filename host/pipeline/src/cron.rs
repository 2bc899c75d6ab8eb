//! Schedules: 5-field cron specs, `@hourly`-style descriptors and `@every <duration>`, in UTC
//! unless the schedule names a time zone.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed schedule spec.
#[derive(Debug, Clone)]
pub struct CronSpec {
    /// The spec as written.
    pub text: String,
    kind: Kind,
    tz: Tz,
}

#[derive(Debug, Clone)]
enum Kind {
    Cron(Box<croner::Cron>),
    Every(Duration),
}

impl CronSpec {
    /// Parses `text` (5 fields, or `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
    /// `@midnight`, `@hourly`, `@every <duration>`) in time zone `tz`.
    pub fn parse(text: &str, tz: Tz) -> Result<Self, String> {
        let trimmed = text.trim();
        let invalid = |why: String| format!("Invalid cron format: {text}. {why}");
        if let Some(every) = trimmed.strip_prefix("@every") {
            let d = crate::duration::parse_duration(every.trim()).map_err(invalid)?;
            if d < Duration::from_secs(1) {
                return Err(invalid("@every needs at least 1s".to_owned()));
            }
            return Ok(CronSpec {
                text: text.to_owned(),
                kind: Kind::Every(d),
                tz,
            });
        }
        let fields = trimmed.split_whitespace().count();
        if !trimmed.starts_with('@') && fields != 5 {
            return Err(invalid(format!(
                "Use 5 fields (minute hour day-of-month month day-of-week), e.g. \"30 2 * * 1-5\"; found {fields}"
            )));
        }
        // croner knows every descriptor but `@midnight` (an alias of `@daily` in robfig/cron).
        let pattern = if trimmed.eq_ignore_ascii_case("@midnight") {
            "@daily"
        } else {
            trimmed
        };
        let cron = croner::Cron::from_str(pattern).map_err(|e| invalid(e.to_string()))?;
        Ok(CronSpec {
            text: text.to_owned(),
            kind: Kind::Cron(Box::new(cron)),
            tz,
        })
    }

    /// The first tick strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Every(d) => {
                // Ticks are aligned to multiples of the interval since the Unix epoch, so every
                // replica computes the same ticks.
                let step = d.as_millis().max(1) as i64;
                let now = after.timestamp_millis();
                let next = (now.div_euclid(step) + 1) * step;
                Utc.timestamp_millis_opt(next).single()
            }
            Kind::Cron(cron) => {
                let local = after.with_timezone(&self.tz);
                cron.find_next_occurrence(&local, false)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            }
        }
    }

    /// The time zone ticks are computed in.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn accepts_standard_specs_and_rejects_others() {
        for ok in [
            "@hourly",
            "0 0 * * *",
            "30 2 * * 1-5",
            "@daily",
            "@every 90s",
            "@yearly",
            "@weekly",
            "@monthly",
            "@midnight",
            "@annually",
        ] {
            assert!(CronSpec::parse(ok, Tz::UTC).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ekekekeh! 12 12",
            "* * * * * *",
            "@every",
            "@every 0s",
            "61 * * * *",
        ] {
            let err = CronSpec::parse(bad, Tz::UTC).unwrap_err();
            assert!(err.starts_with("Invalid cron format"), "{bad}: {err}");
        }
    }

    #[test]
    fn next_ticks_in_utc_and_zones() {
        let spec = CronSpec::parse("30 2 * * *", Tz::UTC).unwrap();
        assert_eq!(
            spec.next_after(at("2024-04-25T10:00:00Z")),
            Some(at("2024-04-26T02:30:00Z"))
        );
        let berlin = CronSpec::parse("30 2 * * *", "Europe/Berlin".parse().unwrap()).unwrap();
        assert_eq!(
            berlin.next_after(at("2024-04-25T10:00:00Z")),
            Some(at("2024-04-26T00:30:00Z"))
        );
        let every = CronSpec::parse("@every 1m", Tz::UTC).unwrap();
        assert_eq!(
            every.next_after(at("2024-04-25T10:00:10Z")),
            Some(at("2024-04-25T10:01:00Z"))
        );
        let hourly = CronSpec::parse("@hourly", Tz::UTC).unwrap();
        assert_eq!(
            hourly.next_after(at("2024-04-25T10:00:00Z")),
            Some(at("2024-04-25T11:00:00Z"))
        );
    }
}
