//! Time functions. Timestamps are RFC 3339 strings.

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, Timelike};
use serde_json::Value;

use super::{FnCtx, string_arg};

/// The evaluation's time (its context's clock) in UTC, RFC 3339.
pub(super) fn timestamp(ctx: &FnCtx<'_>, _: Vec<Value>) -> Result<Value, String> {
    Ok(Value::String(
        ctx.now.to_rfc3339_opts(SecondsFormat::Secs, true),
    ))
}

fn parse_rfc3339(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("invalid RFC 3339 timestamp {text:?}: {e}"))
}

/// `timeadd(timestamp, duration)`.
pub(super) fn timeadd(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let at = parse_rfc3339(&string_arg(&args, 0, "timestamp")?)?;
    let secs = crate::duration::parse_signed_seconds(&string_arg(&args, 1, "duration")?)?;
    let delta = chrono::Duration::nanoseconds((secs * 1e9) as i64);
    let out = at
        .checked_add_signed(delta)
        .ok_or("resulting time is out of range")?;
    Ok(Value::String(
        out.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    ))
}

/// `formatdate(spec, timestamp)` with Terraform's spec letters (`YYYY-MM-DD hh:mm:ss ZZZ`,
/// `'quoted literals'`).
pub(super) fn formatdate(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let spec = string_arg(&args, 0, "format")?;
    let at = parse_rfc3339(&string_arg(&args, 1, "time")?)?;
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&c| c == '\'')
                .ok_or("unterminated quoted literal in format")?;
            if end == 0 {
                out.push('\'');
            } else {
                out.extend(&chars[i + 1..i + 1 + end]);
            }
            i += end + 2;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let token: String = std::iter::repeat_n(c, run).collect();
        let offset = at.offset().local_minus_utc();
        let text = match token.as_str() {
            "YYYY" => format!("{:04}", at.year()),
            "YY" => format!("{:02}", at.year() % 100),
            "MMMM" => month_name(at.month()).to_owned(),
            "MMM" => month_name(at.month())[..3].to_owned(),
            "MM" => format!("{:02}", at.month()),
            "M" => at.month().to_string(),
            "DD" => format!("{:02}", at.day()),
            "D" => at.day().to_string(),
            "EEEE" => at.format("%A").to_string(),
            "EEE" => at.format("%a").to_string(),
            "hh" => format!("{:02}", at.hour()),
            "h" => at.hour().to_string(),
            "HH" => format!("{:02}", (at.hour() + 11) % 12 + 1),
            "H" => ((at.hour() + 11) % 12 + 1).to_string(),
            "AA" => if at.hour() < 12 { "AM" } else { "PM" }.to_owned(),
            "aa" => if at.hour() < 12 { "am" } else { "pm" }.to_owned(),
            "mm" => format!("{:02}", at.minute()),
            "m" => at.minute().to_string(),
            "ss" => format!("{:02}", at.second()),
            "s" => at.second().to_string(),
            "ZZZZZ" => format!(
                "{}{:02}:{:02}",
                if offset < 0 { '-' } else { '+' },
                offset.abs() / 3600,
                offset.abs() % 3600 / 60
            ),
            "ZZZZ" => format!(
                "{}{:02}{:02}",
                if offset < 0 { '-' } else { '+' },
                offset.abs() / 3600,
                offset.abs() % 3600 / 60
            ),
            "ZZZ" | "Z" if offset == 0 => if token == "Z" { "Z" } else { "UTC" }.to_owned(),
            "ZZZ" | "Z" => format!(
                "{}{:02}:{:02}",
                if offset < 0 { '-' } else { '+' },
                offset.abs() / 3600,
                offset.abs() % 3600 / 60
            ),
            other => {
                return Err(format!(
                    "invalid date format verb {other:?}; quote literal letters like 'T'"
                ));
            }
        };
        out.push_str(&text);
        i += run;
    }
    Ok(Value::String(out))
}

fn month_name(m: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES[(m as usize).clamp(1, 12) - 1]
}

#[cfg(test)]
mod tests {
    use crate::functions::test_support::eval;
    use serde_json::json;

    #[test]
    fn time_functions() {
        let now = eval("timestamp()").unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(now.as_str().unwrap()).is_ok());
        assert_eq!(
            eval(r#"timeadd("2024-04-25T10:00:00Z", "1h30m")"#).unwrap(),
            json!("2024-04-25T11:30:00Z")
        );
        assert_eq!(
            eval(r#"timeadd("2024-04-25T10:00:00Z", "-10s")"#).unwrap(),
            json!("2024-04-25T09:59:50Z")
        );
        assert_eq!(
            eval(r#"formatdate("DD MMM YYYY hh:mm ZZZ", "2024-04-05T08:03:00Z")"#).unwrap(),
            json!("05 Apr 2024 08:03 UTC")
        );
        assert_eq!(
            eval(r#"formatdate("EEEE, H:mmaa 'at' D/M/YY", "2024-04-25T18:36:00+02:00")"#).unwrap(),
            json!("Thursday, 6:36pm at 25/4/24")
        );
        assert!(eval(r#"formatdate("YYYY", "not a time")"#).is_err());
    }
}
