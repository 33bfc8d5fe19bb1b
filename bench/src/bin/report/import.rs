//! The import section: each import method's rows/s against `\copy` and the per-row floor, and
//! peak memory (`results/import.json`).

use std::fmt::Write as _;

use anyhow::Result;
use chrono::{DateTime, FixedOffset};
use plotters::prelude::RGBColor;
use serde_json::Value;

use crate::{
    charts::{BARE, Charts, PGBENCH, SWITCHBOARD, hbar_chart},
    format::{Check, opt, provenance, times},
    read::{num, rows, text},
};

pub(crate) fn section(
    v: &Value,
    run_started: Option<DateTime<FixedOffset>>,
    checks: &mut Vec<Check>,
    charts: &mut Charts,
) -> Result<String> {
    let runs = rows(v, "runs");
    let ratios = v.get("ratios").cloned().unwrap_or_default();
    let memory = v.get("memory").cloned().unwrap_or_default();
    let per_row = v.get("per_row").cloned().unwrap_or_default();
    let r = |key: &str| num(&ratios, key);
    let mut md = String::new();
    writeln!(
        md,
        "## Import: the CSV import vs `\\copy` and a per-row loop\n"
    )?;
    writeln!(
        md,
        "{} Details and how to read them: [`RESULTS-import.md`](RESULTS-import.md).\n",
        provenance(v, run_started)
    )?;
    writeln!(md, "- Machine: {}", text(v, "machine"))?;
    writeln!(md, "- PostgreSQL {}", text(v, "postgres"))?;
    writeln!(
        md,
        "- {} rows ({:.1} MiB file), batches of {}, median of {} round(s)\n",
        opt(num(v, "rows")),
        num(v, "file_bytes").unwrap_or_default() / 1_048_576.0,
        opt(num(v, "batch_size")),
        opt(num(v, "repeat")),
    )?;
    writeln!(md, "```sh\n{}\n```\n", text(v, "command"))?;
    writeln!(
        md,
        "| run | time s | rows/s | vs `\\copy` (no index) | vs `\\copy` (indexed) |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|")?;
    for run in runs {
        writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            text(run, "label"),
            opt(num(run, "seconds")),
            opt(num(run, "rows_per_s")),
            times(num(run, "vs_copy")),
            times(num(run, "vs_copy_indexed")),
        )?;
    }
    writeln!(
        md,
        "| per-row loop (Chatwoot-style floor), first {} rows | {} | {} | | |\n",
        opt(num(&per_row, "rows")),
        opt(num(&per_row, "seconds")),
        opt(num(&per_row, "rows_per_s")),
    )?;
    writeln!(
        md,
        "Peak resident memory during an import: {:.1} MiB = {} the file (the run itself added {:.1} MiB = {}).\n",
        num(&memory, "peak_bytes").unwrap_or_default() / 1_048_576.0,
        times(num(&memory, "peak_vs_file")),
        num(&memory, "growth_bytes").unwrap_or_default() / 1_048_576.0,
        times(num(&memory, "growth_vs_file")),
    )?;
    let check = |measure: &str, key: &str, target: &str, min: f64| {
        Check::new(
            "import",
            measure,
            times(r(key)),
            target,
            r(key).map(|x| x >= min),
        )
    };
    checks.push(check(
        "new rows vs `\\copy` into a copy with the table's indexes",
        "new_vs_copy_indexed",
        "≥ 0.5×",
        0.5,
    ));
    checks.push(check(
        "new rows vs `\\copy` into a copy without indexes",
        "new_vs_copy",
        "≥ 0.5×",
        0.5,
    ));
    checks.push(check(
        "re-import, same file, vs `\\copy` with indexes",
        "same_vs_copy_indexed",
        "≥ 0.25×",
        0.25,
    ));
    checks.push(check(
        "re-import, changed file, vs `\\copy` with indexes",
        "changed_vs_copy_indexed",
        "≥ 0.25×",
        0.25,
    ));
    checks.push(check(
        "new rows vs the per-row loop",
        "new_vs_per_row",
        "≥ 20×",
        20.0,
    ));
    let peak = num(&memory, "peak_vs_file");
    checks.push(Check::new(
        "import",
        "peak resident memory / file size",
        times(peak),
        "≤ 3×",
        peak.map(|x| x <= 3.0),
    ));

    let short = [
        "import, new",
        "re-import, same file",
        "re-import, changed file",
        "new, portable writer",
        "changed, portable writer",
        "\\copy, no index",
        "\\copy, with the indexes",
    ];
    let mut items: Vec<(String, f64, RGBColor)> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, run)| {
            let label = short
                .get(i)
                .map_or_else(|| text(run, "label").to_owned(), |s| (*s).to_owned());
            let color = if i >= 5 { PGBENCH } else { SWITCHBOARD };
            Some((label, num(run, "rows_per_s")?, color))
        })
        .collect();
    if let Some(rate) = num(&per_row, "rows_per_s") {
        items.push(("per-row loop (floor)".to_owned(), rate, BARE));
    }
    if !items.is_empty() {
        let path = charts.path("import-rate.svg");
        hbar_chart(
            &path,
            "CSV import: rows per second by method",
            "rows/s",
            &items,
        )?;
        writeln!(
            md,
            "{}",
            charts.embed("import-rate.svg", "Import rows per second per method")
        )?;
    }
    Ok(md)
}
