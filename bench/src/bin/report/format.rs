//! Formatting figures for the Markdown report, and the summary's checks against the issue's
//! targets.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::read::text;

/// A number with about three significant digits.
pub(crate) fn fmt(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A Markdown table: each column's header and alignment (`---` or `---:`), then the rows.
pub(crate) fn table(
    md: &mut String,
    columns: &[(&str, &str)],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> std::fmt::Result {
    let line = |cells: &[&str]| format!("| {} |", cells.join(" | "));
    let headers: Vec<&str> = columns.iter().map(|(header, _)| *header).collect();
    let aligns: Vec<&str> = columns.iter().map(|(_, align)| *align).collect();
    writeln!(md, "{}", line(&headers))?;
    writeln!(md, "|{}|", aligns.join("|"))?;
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        writeln!(md, "{}", line(&cells))?;
    }
    Ok(())
}

pub(crate) fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), fmt)
}

pub(crate) fn times(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |x| format!("{x:.2}×"))
}

/// One line of the summary: a measured value against the target.
pub(crate) struct Check {
    pub(crate) benchmark: &'static str,
    pub(crate) measure: String,
    pub(crate) result: String,
    pub(crate) target: String,
    pub(crate) met: Option<bool>,
    /// From a results file older than the last `run-all.sh` run.
    pub(crate) stale: bool,
}

impl Check {
    pub(crate) fn new(
        benchmark: &'static str,
        measure: impl Into<String>,
        result: String,
        target: &str,
        met: Option<bool>,
    ) -> Self {
        Self {
            benchmark,
            measure: measure.into(),
            result,
            target: target.to_owned(),
            met,
            stale: false,
        }
    }
}

pub(crate) fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// Whether a results file predates the `run-all.sh` run being reported.
pub(crate) fn is_stale(v: &Value, run_started: Option<DateTime<FixedOffset>>) -> bool {
    matches!(
        (run_started, DateTime::parse_from_rfc3339(text(v, "written_at"))),
        (Some(started), Ok(at)) if at < started
    )
}

/// A file's `written_at`, and a warning when it predates the run-all run being reported.
pub(crate) fn provenance(v: &Value, run_started: Option<DateTime<FixedOffset>>) -> String {
    let mut line = format!("Written {}.", text(v, "written_at"));
    if is_stale(v, run_started) {
        line.push_str(
            " **Older than the last `run-all.sh` run** (this part was skipped or failed there): \
             its figures come from an earlier run.",
        );
    }
    line
}
