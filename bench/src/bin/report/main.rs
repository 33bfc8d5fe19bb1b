//! Issue 6's benchmark report: reads the JSON files the benchmarks write under `bench/results/`
//! (`queries.json` from `bench/peers/queries/run.sh`, `import.json` from `import`, `peers.json`
//! from `peers`, and `run-all.json` from `bench/run-all.sh`), draws SVG charts into
//! `bench/charts/` and writes `bench/RESULTS.md`: every ratio the issue sets a target for, met or
//! missed, then one section per benchmark with its machine, versions, commands, tables and charts.
//!
//! ```sh
//! cargo run --release -p switchboard-bench --bin report
//! ```
//!
//! A missing file is skipped with a note; nothing is measured here.

#![allow(clippy::print_stdout)] // a report prints what it did

mod charts;
mod format;
mod import;
mod peers;
mod queries;
mod read;
mod write;

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use clap::Parser;
use serde_json::Value;

use crate::{
    charts::Charts,
    format::{Check, is_stale},
    read::{load, text},
};

#[derive(Parser, Debug)]
#[command(about = "Charts and bench/RESULTS.md from the benchmarks' JSON results")]
struct Args {
    /// Where the benchmarks wrote their JSON files.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    results: PathBuf,
    /// Where to write the SVG charts.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/charts"))]
    charts: PathBuf,
    /// The Markdown report to write (it embeds the charts by a path relative to it).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS.md"))]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.charts)
        .with_context(|| format!("creating {}", args.charts.display()))?;
    let link = args
        .out
        .parent()
        .and_then(|dir| args.charts.strip_prefix(dir).ok())
        .map_or_else(
            || args.charts.display().to_string(),
            |p| p.display().to_string(),
        );
    let mut charts = Charts {
        dir: args.charts.clone(),
        link,
        written: Vec::new(),
    };
    let mut notes = Vec::new();
    let mut checks = Vec::new();
    let run_all = std::fs::read_to_string(args.results.join("run-all.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok());
    let run_started = run_all
        .as_ref()
        .and_then(|r| DateTime::parse_from_rfc3339(text(r, "started_at")).ok());

    let mut sections = Vec::new();
    type Section =
        fn(&Value, Option<DateTime<FixedOffset>>, &mut Vec<Check>, &mut Charts) -> Result<String>;
    let parts: [(&str, &str, Section); 3] = [
        ("queries.json", "queries", queries::section),
        ("import.json", "import", import::section),
        ("peers.json", "peers", peers::section),
    ];
    for (file, name, section) in parts {
        match load(&args.results, file, &mut notes) {
            Some(v) => {
                let first = checks.len();
                sections.push(
                    section(&v, run_started, &mut checks, &mut charts)
                        .with_context(|| format!("the {name} section"))?,
                );
                let stale = is_stale(&v, run_started);
                for check in &mut checks[first..] {
                    check.stale = stale;
                }
            }
            None => sections.push(String::new()),
        }
    }

    // Hand-written notes (what was changed to meet the targets, before/after figures) live next
    // to the results and are carried over verbatim.
    let hand_written = std::fs::read_to_string(args.out.with_file_name("NOTES.md")).ok();
    let md = write::results_md(
        run_all.as_ref(),
        &notes,
        &checks,
        &sections,
        hand_written.as_deref(),
    )?;
    std::fs::write(&args.out, md.trim_end().to_owned() + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    for note in &notes {
        println!("note: {note}");
    }
    for path in &charts.written {
        println!("chart {}", path.display());
    }
    let (met, missed) = write::tally(&checks);
    println!(
        "wrote {} ({met} targets met, {missed} missed)",
        args.out.display()
    );
    Ok(())
}
