//! The filter's value parsers: each normalises one JSON value for its attribute's type, or
//! returns what it expected, for the error message.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::Value;

fn text(value: &Value) -> Result<String, String> {
    match value {
        // PostgreSQL cannot bind text holding NUL: it is the client's mistake, said as such.
        Value::String(s) if s.contains('\0') => Err("a string without NUL characters".to_owned()),
        Value::String(s) => Ok(s.clone()),
        // A number is its own text (an identifier or a phone sent as a JSON number).
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("a string".to_owned()),
    }
}

pub(super) fn lower_text(value: &Value) -> Result<String, String> {
    text(value).map(|s| s.to_lowercase())
}

/// A phone number compared as stored (E.164): trimmed, with a leading `+` added when missing.
pub(super) fn phone(value: &Value) -> Result<String, String> {
    let value = text(value)?;
    let value = value.trim();
    Ok(if value.starts_with('+') {
        value.to_owned()
    } else {
        format!("+{value}")
    })
}

/// Labels are stored lower-cased and trimmed.
pub(super) fn label(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) if s.contains('\0') => {
            Err("a label name without NUL characters".to_owned())
        }
        Value::String(s) => Ok(s.trim().to_lowercase()),
        _ => Err("a label name (string)".to_owned()),
    }
}

/// A finite number, or a string holding one.
pub(super) fn number(value: &Value) -> Result<f64, String> {
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    parsed
        .filter(|n| n.is_finite())
        .ok_or_else(|| "a number".to_owned())
}

/// A day: `YYYY-MM-DD`, or an RFC 3339 timestamp reduced to its UTC date. Years are kept to four
/// digits, so the `YYYY-MM-DD` text comparison of custom dates stays ordered.
pub(super) fn date(value: &Value) -> Result<NaiveDate, String> {
    const EXPECTED: &str = "a date (YYYY-MM-DD or RFC 3339)";
    let Value::String(s) = value else {
        return Err(EXPECTED.to_owned());
    };
    let s = s.trim();
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc).date_naive())
        })
        .ok_or_else(|| EXPECTED.to_owned())?;
    if (1..=9999).contains(&day.year()) {
        Ok(day)
    } else {
        Err("a date between the years 1 and 9999".to_owned())
    }
}

/// `true`/`false`, or the strings "true"/"false" (any case).
pub(super) fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
        _ => Err("true or false".to_owned()),
    }
}

/// A non-negative whole number of days: a JSON number (`3` or `3.0`) or a string holding one.
pub(super) fn days(value: &Value) -> Result<u64, String> {
    const EXPECTED: &str = "a non-negative whole number of days";
    let parsed = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u32::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| EXPECTED.to_owned())
}
