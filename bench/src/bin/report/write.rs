//! `RESULTS.md` itself: the header with the last `run-all.sh` run, the notes, the summary of
//! issue 6's targets, then the benchmarks' sections and the hand-written notes.

use std::fmt::Write as _;

use anyhow::Result;
use chrono::Utc;
use serde_json::Value;

use crate::{
    format::{Check, verdict},
    read::{num, rows, text},
};

/// How many of the checks met their target, and how many missed it.
pub(crate) fn tally(checks: &[Check]) -> (usize, usize) {
    let met = checks.iter().filter(|c| c.met == Some(true)).count();
    let missed = checks.iter().filter(|c| c.met == Some(false)).count();
    (met, missed)
}

/// The report's Markdown, from the `run-all.sh` record (when there is one), the notes on skipped
/// files, the checks, each benchmark's section (empty when skipped) and `NOTES.md`'s text.
pub(crate) fn results_md(
    run_all: Option<&Value>,
    notes: &[String],
    checks: &[Check],
    sections: &[String],
    hand_written: Option<&str>,
) -> Result<String> {
    let mut md = String::new();
    writeln!(md, "# Benchmark results (issue 6)\n")?;
    writeln!(
        md,
        "Written by `cargo run --release -p switchboard-bench --bin report` on {} from the JSON files in \
         `bench/results/`; the charts are SVGs it drew into `bench/charts/`. Every ratio below is \
         computed from one run of its benchmark, between systems measured side by side and \
         alternating in that run; how each benchmark works: [`README.md`](README.md).\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC")
    )?;
    if let Some(r) = run_all {
        writeln!(
            md,
            "Last `{}`: started {} at git {}, **{} in all** (build {}), on {}.\n",
            text(r, "command"),
            text(r, "started_at"),
            text(r, "git"),
            num(r, "total_secs").map_or_else(
                || "?".into(),
                |s| format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0)
            ),
            num(r, "build_secs").map_or_else(|| "skipped".into(), |s| format!("{s:.0} s")),
            text(r, "machine"),
        )?;
        let parts = rows(r, "parts");
        if !parts.is_empty() {
            writeln!(md, "| part | status | time |")?;
            writeln!(md, "|---|---|---:|")?;
            for p in parts {
                writeln!(
                    md,
                    "| {} | {} | {} |",
                    text(p, "name"),
                    text(p, "status"),
                    num(p, "secs").map_or_else(|| "–".into(), |s| format!("{s:.0} s")),
                )?;
            }
            writeln!(md)?;
        }
    }
    for note in notes {
        writeln!(md, "- {note}")?;
    }
    if !notes.is_empty() {
        writeln!(md)?;
    }
    writeln!(md, "## Summary: issue 6's targets\n")?;
    writeln!(md, "| benchmark | measure | result | target | |")?;
    writeln!(md, "|---|---|---:|---|---|")?;
    for c in checks {
        let verdict = if c.target.starts_with('(') {
            ""
        } else {
            verdict(c.met)
        };
        let mark = if c.stale { " †" } else { "" };
        writeln!(
            md,
            "| {}{mark} | {} | {} | {} | {verdict} |",
            c.benchmark, c.measure, c.result, c.target
        )?;
    }
    let (met, missed) = tally(checks);
    writeln!(md, "\n{met} met, {missed} missed.")?;
    if checks.iter().any(|c| c.stale) {
        writeln!(
            md,
            "\n† From a results file older than the last `run-all.sh` run (that part was skipped \
             or failed): an earlier run's figures."
        )?;
    }
    writeln!(md)?;
    for section in sections.iter().filter(|s| !s.is_empty()) {
        writeln!(md, "{section}")?;
    }
    if let Some(hand_written) = hand_written {
        writeln!(md, "{}", hand_written.trim_end())?;
    }
    Ok(md)
}
