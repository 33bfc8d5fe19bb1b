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

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, Utc};
use clap::Parser;
use plotters::{
    coord::{
        Shift,
        ranged1d::{AsRangedCoord, ValueFormatter},
        types::RangedCoordf64,
    },
    element::DashedPathElement,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};
use serde_json::Value;

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

// --- reading ------------------------------------------------------------------------------------

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64).filter(|x| x.is_finite())
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn rows<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn mean(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .flatten()
        .fold((0.0, 0_u32), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// The mean of `key` over the rows for which `pick` holds (the rounds of one measurement).
fn mean_of(rows: &[Value], key: &str, pick: impl Fn(&Value) -> bool) -> Option<f64> {
    mean(rows.iter().filter(|r| pick(r)).map(|r| num(r, key)))
}

fn sum_of(rows: &[Value], key: &str, pick: impl Fn(&Value) -> bool) -> f64 {
    rows.iter()
        .filter(|r| pick(r))
        .filter_map(|r| num(r, key))
        .sum()
}

/// Distinct values of a string field, in order of first appearance.
fn distinct(rows: &[Value], key: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for r in rows {
        let value = text(r, key);
        if !value.is_empty() && !seen.iter().any(|s| s == value) {
            seen.push(value.to_owned());
        }
    }
    seen
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// A results file, or `None` (and a note) when it is missing or unreadable.
fn load(dir: &Path, name: &str, notes: &mut Vec<String>) -> Option<Value> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(content) => match serde_json::from_str(&content) {
            Ok(value) => Some(value),
            Err(err) => {
                notes.push(format!(
                    "`results/{name}` is not valid JSON ({err}); skipped."
                ));
                None
            }
        },
        Err(_) => {
            notes.push(format!(
                "`results/{name}` is missing (that benchmark has not been run); skipped."
            ));
            None
        }
    }
}

// --- formatting ---------------------------------------------------------------------------------

/// A number with about three significant digits.
fn fmt(x: f64) -> String {
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
fn table(
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

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), fmt)
}

fn times(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |x| format!("{x:.2}×"))
}

/// One line of the summary: a measured value against the issue's target.
struct Check {
    benchmark: &'static str,
    measure: String,
    result: String,
    target: String,
    met: Option<bool>,
    /// From a results file older than the last `run-all.sh` run.
    stale: bool,
}

impl Check {
    fn new(
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

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// Whether a results file predates the `run-all.sh` run being reported.
fn is_stale(v: &Value, run_started: Option<DateTime<FixedOffset>>) -> bool {
    matches!(
        (run_started, DateTime::parse_from_rfc3339(text(v, "written_at"))),
        (Some(started), Ok(at)) if at < started
    )
}

/// A file's `written_at`, and a warning when it predates the run-all run being reported.
fn provenance(v: &Value, run_started: Option<DateTime<FixedOffset>>) -> String {
    let mut line = format!("Written {}.", text(v, "written_at"));
    if is_stale(v, run_started) {
        line.push_str(
            " **Older than the last `run-all.sh` run** (this part was skipped or failed there): \
             its figures come from an earlier run.",
        );
    }
    line
}

// --- charts -------------------------------------------------------------------------------------

const FONT: &str = "sans-serif";
const SWITCHBOARD: RGBColor = RGBColor(31, 119, 180);
const POSTGRAPHILE: RGBColor = RGBColor(255, 127, 14);
const PGBENCH: RGBColor = RGBColor(44, 160, 44);
const REDIS: RGBColor = RGBColor(214, 39, 40);
const BARE: RGBColor = RGBColor(127, 127, 127);
const LOADED: RGBColor = RGBColor(148, 103, 189);

fn system_color(system: &str) -> RGBColor {
    match system {
        "switchboard" => SWITCHBOARD,
        "postgraphile" => POSTGRAPHILE,
        "pgbench" => PGBENCH,
        "redis" => REDIS,
        _ => BARE,
    }
}

fn system_name(system: &str) -> &str {
    match system {
        "switchboard" => "Switchboard",
        "postgraphile" => "PostGraphile",
        "pgbench" => "pgbench (SQL)",
        "redis" => "raw Redis",
        "bare" => "bare tokio-tungstenite",
        other => other,
    }
}

/// One series of a bar chart: a value (or none) per group.
struct Bars {
    name: String,
    color: RGBColor,
    /// Drawn lighter (e.g. the p50 next to a p99 of the same system).
    light: bool,
    values: Vec<Option<f64>>,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A y axis covering `values`: linear from 0, or logarithmic between powers of ten.
fn y_bounds(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let values: Vec<f64> = values.filter(|v| v.is_finite() && *v > 0.0).collect();
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    if log {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        if !min.is_finite() {
            return (0.1, 10.0);
        }
        (
            10_f64.powf(min.log10().floor()),
            10_f64.powf((max * 1.15).log10().ceil()),
        )
    } else {
        (0.0, if max > 0.0 { max * 1.18 } else { 1.0 })
    }
}

fn axis_label(y: f64) -> String {
    if y >= 1000.0 {
        format!("{y:.0}")
    } else if y >= 1.0 {
        format!("{}", (y * 100.0).round() / 100.0)
    } else {
        format!("{y}")
    }
}

/// Grouped bars: one group per label on the x axis, one bar per series in each group, its value
/// written above it.
fn bar_chart(
    area: &Area<'_>,
    title: &str,
    y_desc: &str,
    groups: &[String],
    series: &[Bars],
    log: bool,
) -> Result<()> {
    let (lo, hi) = y_bounds(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
        log,
    );
    if log {
        draw_bars(
            area,
            title,
            y_desc,
            groups,
            series,
            (lo..hi).log_scale(),
            lo,
        )
    } else {
        draw_bars(area, title, y_desc, groups, series, lo..hi, lo)
    }
}

fn draw_bars<Y>(
    area: &Area<'_>,
    title: &str,
    y_desc: &str,
    groups: &[String],
    series: &[Bars],
    y: Y,
    base: f64,
) -> Result<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    #[allow(clippy::cast_precision_loss)]
    let n = groups.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d::<RangedCoordf64, Y>((-0.5..n - 0.5).into(), y)?;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            groups.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len())
        .x_label_formatter(&label)
        .y_label_formatter(&|y| axis_label(*y))
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    #[allow(clippy::cast_precision_loss)]
    let width = 0.8 / series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        let style = if s.light {
            s.color.mix(0.45).filled()
        } else {
            s.color.filled()
        };
        #[allow(clippy::cast_precision_loss)]
        let left = |g: usize| g as f64 - 0.4 + width * k as f64;
        let bars = s.values.iter().enumerate().filter_map(|(g, v)| {
            v.map(|v| Rectangle::new([(left(g), base), (left(g) + width * 0.92, v)], style))
        });
        let legend_style = style;
        chart
            .draw_series(bars)?
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], legend_style));
        let value_style =
            TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(s.values.iter().enumerate().filter_map(|(g, v)| {
            v.map(|v| Text::new(fmt(v), (left(g) + width * 0.46, v), value_style.clone()))
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// One line of a line chart.
struct Line {
    name: String,
    color: RGBColor,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// Lines against a logarithmic x axis (subscribers, connections), y linear or logarithmic.
fn line_chart(
    path: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    lines: &[Line],
    (log_y, legend): (bool, SeriesLabelPosition),
) -> Result<()> {
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x_lo, x_hi) = y_bounds(xs, true);
    let (y_lo, y_hi) = y_bounds(
        lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)),
        log_y,
    );
    let x = (x_lo..x_hi).log_scale();
    if log_y {
        let y = (y_lo..y_hi).log_scale();
        draw_lines(&root, title, (x_desc, y_desc), lines, (x, y), legend)?;
    } else {
        draw_lines(
            &root,
            title,
            (x_desc, y_desc),
            lines,
            (x, y_lo..y_hi),
            legend,
        )?;
    }
    root.present()?;
    Ok(())
}

fn draw_lines<X, Y>(
    area: &Area<'_>,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    lines: &[Line],
    (x, y): (X, Y),
    legend: SeriesLabelPosition,
) -> Result<()>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| axis_label(*x))
        .y_label_formatter(&|y| axis_label(*y))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    for line in lines {
        let style = line.color.stroke_width(2);
        let color = line.color;
        let anno = if line.dashed {
            chart.draw_series(DashedLineSeries::new(line.points.clone(), 8, 5, style))?
        } else {
            chart.draw_series(LineSeries::new(line.points.clone(), style))?
        };
        let anno = anno.label(line.name.clone());
        // The legend draws each line as the chart does: a dot alone, dashed or solid.
        if line.points.len() == 1 {
            anno.legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
        } else {
            let (dash, gap) = if line.dashed { (8, 5) } else { (20, 1) };
            anno.legend(move |(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 21, y)], dash, gap, color.stroke_width(2))
            });
        }
        chart.draw_series(
            line.points
                .iter()
                .map(|&p| Circle::new(p, 4, line.color.filled())),
        )?;
        let value_style =
            TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
        chart.draw_series(
            line.points
                .iter()
                .map(|&(x, y)| Text::new(format!(" {}", fmt(y)), (x, y), value_style.clone())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// A horizontal bar per label (long labels read better on the y axis).
fn hbar_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    items: &[(String, f64, RGBColor)],
) -> Result<()> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let height = 120 + 44 * items.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (_, hi) = y_bounds(items.iter().map(|i| i.1), false);
    #[allow(clippy::cast_precision_loss)]
    let n = items.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(260)
        .build_cartesian_2d(0.0..hi * 1.1, -0.5..n - 0.5)?;
    let label = |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 1e-6 && i >= 0.0 {
            // The first item on top.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            items
                .len()
                .checked_sub(1 + i as usize)
                .and_then(|k| items.get(k))
                .map(|item| item.0.clone())
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(items.len())
        .y_label_formatter(&label)
        .x_label_formatter(&|x| axis_label(*x))
        .x_desc(x_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    #[allow(clippy::cast_precision_loss)]
    let row = |k: usize| n - 1.0 - k as f64;
    chart.draw_series(items.iter().enumerate().map(|(k, (_, v, color))| {
        Rectangle::new([(0.0, row(k) - 0.35), (*v, row(k) + 0.35)], color.filled())
    }))?;
    let value_style =
        TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(
        items
            .iter()
            .enumerate()
            .map(|(k, (_, v, _))| Text::new(format!(" {v:.0}"), (*v, row(k)), value_style.clone())),
    )?;
    root.present()?;
    Ok(())
}

/// A chart file, and the Markdown that embeds it.
struct Charts {
    dir: PathBuf,
    /// `dir` as the report refers to it.
    link: String,
    written: Vec<PathBuf>,
}

impl Charts {
    fn path(&mut self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        self.written.push(path.clone());
        path
    }

    fn embed(&self, name: &str, alt: &str) -> String {
        format!("![{alt}]({}/{name})\n", self.link)
    }
}

// --- the sections -------------------------------------------------------------------------------

const PEERS: [&str; 2] = ["switchboard", "postgraphile"];

fn queries(
    v: &Value,
    run_started: Option<DateTime<FixedOffset>>,
    checks: &mut Vec<Check>,
    charts: &mut Charts,
) -> Result<String> {
    let runs = rows(v, "runs");
    let open = rows(v, "open_loop");
    let names = distinct(runs, "query");
    let of = |q: &str, peer: &str, key: &str, rows: &[Value]| {
        mean_of(rows, key, |r| {
            text(r, "query") == q && text(r, "peer") == peer
        })
    };
    let mut md = String::new();
    writeln!(md, "## Queries: Switchboard vs PostGraphile and pgbench\n")?;
    writeln!(
        md,
        "{} Details, the queries and every run: [`peers/queries/RESULTS.md`](peers/queries/RESULTS.md).\n",
        provenance(v, run_started)
    )?;
    writeln!(md, "- Machine: {}", text(v, "machine"))?;
    if let Some(versions) = v.get("versions").and_then(Value::as_object) {
        let list: Vec<String> = versions
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().unwrap_or_default();
                if v.to_lowercase().starts_with(k) {
                    v.to_owned()
                } else {
                    format!("{k} {v}")
                }
            })
            .collect();
        writeln!(md, "- Versions: {}", list.join("; "))?;
    }
    writeln!(
        md,
        "- Data: {} contacts; {} closed-loop round(s) alternating Switchboard → PostGraphile → pgbench, then {} open-loop round(s) per query\n",
        num(v, "contacts").map_or_else(|| "?".into(), fmt),
        num(v, "rounds").map_or_else(|| "?".into(), fmt),
        num(v, "open_loop_rounds").map_or_else(|| "0".into(), fmt),
    )?;
    writeln!(md, "```sh\n{}", text(v, "command"))?;
    for command in rows(v, "commands") {
        writeln!(md, "{}", command.as_str().unwrap_or_default())?;
    }
    writeln!(md, "```\n")?;

    writeln!(
        md,
        "Closed loop (wrk, 10 connections, every response checked), mean of the rounds:\n"
    )?;
    writeln!(
        md,
        "| query | Switchboard req/s | PostGraphile req/s | pgbench tps | Switchboard / PostGraphile | Switchboard / pgbench | Switchboard p50 / p99 ms | PostGraphile p50 / p99 ms |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---|---|")?;
    for q in &names {
        let sb = of(q, "switchboard", "req_per_s", runs);
        let pg = of(q, "postgraphile", "req_per_s", runs);
        let pb = of(q, "pgbench", "req_per_s", runs);
        let (vs_pg, vs_pb) = (ratio(sb, pg), ratio(sb, pb));
        writeln!(
            md,
            "| {q} | {} | {} | {} | {} | {} | {} / {} | {} / {} |",
            opt(sb),
            opt(pg),
            opt(pb),
            times(vs_pg),
            vs_pb.map_or_else(|| "–".into(), |r| format!("{:.1} %", r * 100.0)),
            opt(of(q, "switchboard", "p50_ms", runs)),
            opt(of(q, "switchboard", "p99_ms", runs)),
            opt(of(q, "postgraphile", "p50_ms", runs)),
            opt(of(q, "postgraphile", "p99_ms", runs)),
        )?;
        checks.push(Check::new(
            "queries",
            format!("{q}: Switchboard / PostGraphile throughput"),
            times(vs_pg),
            "≥ 3×",
            vs_pg.map(|r| r >= 3.0),
        ));
        checks.push(Check::new(
            "queries",
            format!("{q}: Switchboard / pgbench throughput"),
            vs_pb.map_or_else(|| "–".into(), |r| format!("{:.1} %", r * 100.0)),
            "≥ 15 %",
            vs_pb.map(|r| r >= 0.15),
        ));
    }
    writeln!(md)?;

    if open.is_empty() {
        writeln!(md, "Open loop: not measured in this run.\n")?;
    } else {
        writeln!(
            md,
            "Open loop (oha at one fixed rate for both servers, `--latency-correction`; rate: {}), mean of the rounds:\n",
            text(v, "open_loop_rate_rule")
        )?;
        writeln!(
            md,
            "| query | rate req/s | Switchboard p50 / p90 / p99 / max ms | PostGraphile p50 / p90 / p99 / max ms | p99 Switchboard / PostGraphile | errors |"
        )?;
        writeln!(md, "|---|---:|---|---|---:|---:|")?;
        for q in &names {
            let p = |peer: &str| {
                ["p50_ms", "p90_ms", "p99_ms", "max_ms"]
                    .map(|k| opt(of(q, peer, k, open)))
                    .join(" / ")
            };
            let errors = sum_of(open, "errors", |r| text(r, "query") == q);
            let p99 = ratio(
                of(q, "switchboard", "p99_ms", open),
                of(q, "postgraphile", "p99_ms", open),
            );
            writeln!(
                md,
                "| {q} | {} | {} | {} | {} | {errors:.0} |",
                opt(mean_of(open, "rate", |r| text(r, "query") == q)),
                p("switchboard"),
                p("postgraphile"),
                times(p99),
            )?;
            checks.push(Check::new(
                "queries",
                format!("{q}: open-loop p99, Switchboard / PostGraphile"),
                times(p99),
                "(no target; lower is better)",
                None,
            ));
        }
        writeln!(md)?;
    }

    // Latency: closed and open loop side by side.
    let path = charts.path("queries-latency.svg");
    let root = SVGBackend::new(&path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels: Vec<(&str, &[Value])> = if open.is_empty() {
        vec![("closed loop (wrk, 10 connections)", runs)]
    } else {
        vec![
            ("closed loop (wrk, 10 connections)", runs),
            ("open loop (oha, fixed rate)", open),
        ]
    };
    let areas = root.split_evenly((1, panels.len()));
    for ((title, source), area) in panels.iter().zip(&areas) {
        let mut series = Vec::new();
        for peer in PEERS {
            for (key, light) in [("p50_ms", true), ("p99_ms", false)] {
                series.push(Bars {
                    name: format!("{} {}", system_name(peer), &key[..3]),
                    color: system_color(peer),
                    light,
                    values: names.iter().map(|q| of(q, peer, key, source)).collect(),
                });
            }
        }
        bar_chart(
            area,
            &format!("Query latency, {title}"),
            "ms",
            &names,
            &series,
            false,
        )?;
    }
    root.present()?;
    writeln!(
        md,
        "{}",
        charts.embed(
            "queries-latency.svg",
            "Query latency p50/p99 per system, closed and open loop"
        )
    )?;

    let path = charts.path("queries-throughput.svg");
    let root = SVGBackend::new(&path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let series: Vec<Bars> = ["switchboard", "postgraphile", "pgbench"]
        .into_iter()
        .map(|peer| Bars {
            name: system_name(peer).to_owned(),
            color: system_color(peer),
            light: false,
            values: names
                .iter()
                .map(|q| of(q, peer, "req_per_s", runs))
                .collect(),
        })
        .collect();
    bar_chart(
        &root,
        "Query throughput, closed loop (log scale)",
        "requests/s",
        &names,
        &series,
        true,
    )?;
    root.present()?;
    writeln!(
        md,
        "{}",
        charts.embed("queries-throughput.svg", "Query throughput per system")
    )?;
    Ok(md)
}

fn import(
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

fn peers(
    v: &Value,
    run_started: Option<DateTime<FixedOffset>>,
    checks: &mut Vec<Check>,
    charts: &mut Charts,
) -> Result<String> {
    let memory = rows(v, "memory");
    let storm = rows(v, "storm");
    let fanout = rows(v, "fanout");
    let interference = rows(v, "interference");
    let is = |system: &'static str| move |r: &Value| text(r, "system") == system;
    let mut md = String::new();
    writeln!(
        md,
        "## Peers: memory, connect storm, fan-out and interference\n"
    )?;
    writeln!(
        md,
        "{} Details (per-round tables, listen-queue overflows, notes): [`RESULTS-peers.md`](RESULTS-peers.md).\n",
        provenance(v, run_started)
    )?;
    writeln!(md, "- Machine: {}\n", text(v, "machine"))?;
    writeln!(md, "```sh\n{}\n```\n", text(v, "command"))?;

    // Memory per idle connection.
    writeln!(md, "### Memory per idle connection\n")?;
    let sb_kib = mean_of(memory, "per_connection_kib", is("switchboard"));
    let bare_kib = mean_of(memory, "per_connection_kib", is("bare"));
    let sb_total = memory
        .iter()
        .filter(|r| is("switchboard")(r))
        .filter_map(|r| num(r, "rss_after_kib"))
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let connections = mean_of(memory, "connections", is("switchboard"));
    if memory.is_empty() {
        writeln!(md, "Not measured in this run.\n")?;
    } else {
        table(
            &mut md,
            &[
                ("round", "---:"),
                ("server", "---"),
                ("connections", "---:"),
                ("RSS before MiB", "---:"),
                ("RSS idle MiB", "---:"),
                ("KiB per connection", "---:"),
            ],
            memory.iter().map(|r| {
                vec![
                    opt(num(r, "round")),
                    system_name(text(r, "system")).to_owned(),
                    opt(num(r, "connections")),
                    opt(num(r, "rss_before_kib").map(|k| k / 1024.0)),
                    opt(num(r, "rss_after_kib").map(|k| k / 1024.0)),
                    opt(num(r, "per_connection_kib")),
                ]
            }),
        )?;
        writeln!(
            md,
            "\nMean of the rounds: Switchboard {} KiB, bare {} KiB per idle connection ({}).\n",
            opt(sb_kib),
            opt(bare_kib),
            times(ratio(sb_kib, bare_kib))
        )?;
    }
    let mem_ratio = ratio(sb_kib, bare_kib);
    checks.push(Check::new(
        "memory",
        "KiB per idle subscriber, Switchboard / bare",
        times(mem_ratio),
        "≤ 3×",
        mem_ratio.map(|r| r <= 3.0),
    ));
    // 200 MB as the issue writes it: 10^6 bytes.
    let total_mb = sb_total.map(|k| k * 1024.0 / 1e6);
    checks.push(Check::new(
        "memory",
        format!(
            "Switchboard total RSS with {} idle subscribers (max of rounds)",
            connections.map_or_else(|| "N".into(), |n| format!("{n:.0}"))
        ),
        total_mb.map_or_else(|| "–".into(), |mb| format!("{mb:.0} MB")),
        "≤ 200 MB",
        total_mb.map(|mb| mb <= 200.0),
    ));

    // Memory per subscriber against N: the fan-out runs that measured it, and the idle points.
    let subscriber_counts = |system: &'static str| {
        let mut ns: Vec<f64> = fanout
            .iter()
            .filter(|r| is(system)(r))
            .filter_map(|r| num(r, "subscribers"))
            .collect();
        ns.sort_by(f64::total_cmp);
        ns.dedup();
        ns
    };
    let mut lines = Vec::new();
    let fan_mem: Vec<(f64, f64)> = subscriber_counts("switchboard")
        .into_iter()
        .filter_map(|n| {
            let kib = mean_of(fanout, "rss_per_subscriber_kib", |r| {
                is("switchboard")(r) && num(r, "subscribers") == Some(n)
            })?;
            Some((n, kib))
        })
        .collect();
    if !fan_mem.is_empty() {
        lines.push(Line {
            name: "Switchboard, fan-out runs".into(),
            color: SWITCHBOARD,
            dashed: true,
            points: fan_mem,
        });
    }
    for (system, kib) in [("switchboard", sb_kib), ("bare", bare_kib)] {
        let n = mean_of(memory, "connections", is(system));
        if let (Some(n), Some(kib)) = (n, kib) {
            lines.push(Line {
                name: format!("{}, idle (memory phase)", system_name(system)),
                color: system_color(system),
                dashed: false,
                points: vec![(n, kib)],
            });
        }
    }
    if !lines.is_empty() {
        let path = charts.path("memory-per-subscriber.svg");
        line_chart(
            &path,
            "Server memory per idle subscriber",
            ("subscribers (log scale)", "KiB per subscriber (log scale)"),
            &lines,
            (true, SeriesLabelPosition::UpperRight),
        )?;
        writeln!(
            md,
            "{}",
            charts.embed(
                "memory-per-subscriber.svg",
                "Memory per subscriber against N"
            )
        )?;
    }

    // Connect storm.
    writeln!(md, "### Connect storm\n")?;
    let sb_p95 = mean_of(storm, "p95_ms", is("switchboard"));
    let bare_p95 = mean_of(storm, "p95_ms", is("bare"));
    let sb_failures = sum_of(storm, "failures", is("switchboard"));
    if storm.is_empty() {
        writeln!(md, "Not measured in this run.\n")?;
    } else {
        table(
            &mut md,
            &[
                ("round", "---:"),
                ("server", "---"),
                ("connections", "---:"),
                ("failures", "---:"),
                ("p50 ms", "---:"),
                ("p95 ms", "---:"),
                ("p99 ms", "---:"),
            ],
            storm.iter().map(|r| {
                let mut row = vec![
                    opt(num(r, "round")),
                    system_name(text(r, "system")).to_owned(),
                ];
                let keys = ["connections", "failures", "p50_ms", "p95_ms", "p99_ms"];
                row.extend(keys.iter().map(|key| opt(num(r, key))));
                row
            }),
        )?;
        writeln!(md, "\nRatios use the mean of the rounds' percentiles.\n")?;
        let keys = ["p50_ms", "p95_ms", "p99_ms"];
        let series: Vec<Bars> = ["switchboard", "bare"]
            .into_iter()
            .map(|system| Bars {
                name: system_name(system).to_owned(),
                color: system_color(system),
                light: false,
                values: keys.iter().map(|k| mean_of(storm, k, is(system))).collect(),
            })
            .collect();
        let path = charts.path("storm.svg");
        let root = SVGBackend::new(&path, (900, 520)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = connections.or_else(|| mean_of(storm, "connections", |_| true));
        bar_chart(
            &root,
            &format!(
                "Connect storm: time to connection_ack, {} clients at once",
                n.map_or_else(|| "N".into(), |n| format!("{n:.0}"))
            ),
            "ms (mean of rounds)",
            &["p50".to_owned(), "p95".to_owned(), "p99".to_owned()],
            &series,
            false,
        )?;
        root.present()?;
        writeln!(
            md,
            "{}",
            charts.embed("storm.svg", "Connect storm time to ack per system")
        )?;
    }
    checks.push(Check::new(
        "connect storm",
        "Switchboard connection failures",
        if storm.is_empty() {
            "–".into()
        } else {
            format!("{sb_failures:.0}")
        },
        "0",
        (!storm.is_empty()).then_some(sb_failures == 0.0),
    ));
    let storm_ratio = ratio(sb_p95, bare_p95);
    checks.push(Check::new(
        "connect storm",
        "p95 time to ack, Switchboard / bare",
        times(storm_ratio),
        "≤ 2×",
        storm_ratio.map(|r| r <= 2.0),
    ));

    // Fan-out.
    writeln!(md, "### Fan-out: Switchboard vs raw Redis\n")?;
    let at = |system: &'static str, n: f64, key: &str| {
        mean_of(fanout, key, |r| {
            is(system)(r) && num(r, "subscribers") == Some(n)
        })
    };
    let lost_at = |system: &'static str, n: f64| {
        sum_of(fanout, "lost", |r| {
            is(system)(r) && num(r, "subscribers") == Some(n)
        })
    };
    let counts = subscriber_counts("switchboard");
    if fanout.is_empty() {
        writeln!(md, "Not measured in this run.\n")?;
    } else {
        writeln!(
            md,
            "| subscribers | Switchboard p50 / p99 ms | Redis p50 / p99 ms | p99 ratio | Switchboard lost | Redis lost | Switchboard msg/s | Redis msg/s | Switchboard KiB per subscriber |"
        )?;
        writeln!(md, "|---:|---|---|---:|---:|---:|---:|---:|---:|")?;
        for &n in &counts {
            writeln!(
                md,
                "| {n:.0} | {} / {} | {} / {} | {} | {:.0} | {:.0} | {} | {} | {} |",
                opt(at("switchboard", n, "p50_ms")),
                opt(at("switchboard", n, "p99_ms")),
                opt(at("redis", n, "p50_ms")),
                opt(at("redis", n, "p99_ms")),
                times(ratio(
                    at("switchboard", n, "p99_ms"),
                    at("redis", n, "p99_ms")
                )),
                lost_at("switchboard", n),
                lost_at("redis", n),
                opt(at("switchboard", n, "messages_per_s")),
                opt(at("redis", n, "messages_per_s")),
                opt(at("switchboard", n, "rss_per_subscriber_kib")),
            )?;
        }
        writeln!(
            md,
            "\nMean of the rounds' percentiles (a pooled p99 is in `RESULTS-peers.md`). At 1 subscriber the ratio measures `createMessage`'s HTTP request and database write, which a raw `PUBLISH` does not do.\n"
        )?;
        let mut lines = Vec::new();
        for system in ["switchboard", "redis"] {
            for (key, dashed) in [("p50_ms", true), ("p99_ms", false)] {
                let points: Vec<(f64, f64)> = subscriber_counts(system)
                    .into_iter()
                    .filter_map(|n| Some((n, at(system, n, key)?)))
                    .collect();
                lines.push(Line {
                    name: format!("{} {}", system_name(system), &key[..3]),
                    color: system_color(system),
                    dashed,
                    points,
                });
            }
        }
        let path = charts.path("fanout-latency.svg");
        line_chart(
            &path,
            "Fan-out: delivery latency against subscribers",
            ("subscribers (log scale)", "ms, mean of rounds (log scale)"),
            &lines,
            (true, SeriesLabelPosition::UpperLeft),
        )?;
        writeln!(
            md,
            "{}",
            charts.embed(
                "fanout-latency.svg",
                "Fan-out delivery latency p50/p99 against N"
            )
        )?;
    }
    let p99_ratio = ratio(
        at("switchboard", 1000.0, "p99_ms"),
        at("redis", 1000.0, "p99_ms"),
    );
    checks.push(Check::new(
        "fan-out",
        "p99 delivery at 1,000 subscribers, Switchboard / raw Redis",
        times(p99_ratio),
        "≤ 3×",
        p99_ratio.map(|r| r <= 3.0),
    ));
    let p99 = at("switchboard", 1000.0, "p99_ms");
    checks.push(Check::new(
        "fan-out",
        "Switchboard p99 delivery at 1,000 subscribers",
        p99.map_or_else(|| "–".into(), |ms| format!("{} ms", fmt(ms))),
        "≤ 50 ms",
        p99.map(|ms| ms <= 50.0),
    ));
    let measured_5000 = counts.contains(&5000.0);
    let lost = lost_at("switchboard", 5000.0);
    checks.push(Check::new(
        "fan-out",
        "messages lost at 5,000 subscribers",
        if measured_5000 {
            format!("{lost:.0}")
        } else {
            "–".into()
        },
        "0",
        measured_5000.then_some(lost == 0.0),
    ));

    // Interference.
    writeln!(
        md,
        "### Interference: queries alone and under subscription load\n"
    )?;
    let phase = |p: &'static str| move |r: &Value| text(r, "phase") == p;
    if interference.is_empty() {
        writeln!(md, "Not measured in this run.\n")?;
    } else {
        let keys = [
            "rate",
            "requests",
            "errors",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "subscribers",
            "events_per_s",
            "delivered",
        ];
        table(
            &mut md,
            &[
                ("round", "---:"),
                ("phase", "---"),
                ("rate req/s", "---:"),
                ("requests", "---:"),
                ("errors", "---:"),
                ("p50 ms", "---:"),
                ("p90 ms", "---:"),
                ("p99 ms", "---:"),
                ("max ms", "---:"),
                ("subscribers", "---:"),
                ("events/s", "---:"),
                ("delivered", "---:"),
            ],
            interference.iter().map(|r| {
                let mut row = vec![opt(num(r, "round")), text(r, "phase").to_owned()];
                row.extend(keys.iter().map(|key| opt(num(r, key))));
                row
            }),
        )?;
        writeln!(md)?;
        let keys = ["p50_ms", "p90_ms", "p99_ms"];
        let series: Vec<Bars> = [("alone", SWITCHBOARD), ("loaded", LOADED)]
            .into_iter()
            .map(|(p, color)| Bars {
                name: p.to_owned(),
                color,
                light: false,
                values: keys
                    .iter()
                    .map(|k| mean_of(interference, k, phase(p)))
                    .collect(),
            })
            .collect();
        let path = charts.path("interference.svg");
        let root = SVGBackend::new(&path, (900, 520)).into_drawing_area();
        root.fill(&WHITE)?;
        bar_chart(
            &root,
            "Query latency alone and under subscription load",
            "ms (mean of rounds)",
            &["p50".to_owned(), "p90".to_owned(), "p99".to_owned()],
            &series,
            false,
        )?;
        root.present()?;
        writeln!(
            md,
            "{}",
            charts.embed(
                "interference.svg",
                "Interference p50/p90/p99 alone vs loaded"
            )
        )?;
    }
    let loaded = ratio(
        mean_of(interference, "p99_ms", phase("loaded")),
        mean_of(interference, "p99_ms", phase("alone")),
    );
    checks.push(Check::new(
        "interference",
        "query p99 under subscription load / alone",
        times(loaded),
        "≤ 1.5×",
        loaded.map(|r| r <= 1.5),
    ));
    Ok(md)
}

// --- main ---------------------------------------------------------------------------------------

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
        ("queries.json", "queries", queries),
        ("import.json", "import", import),
        ("peers.json", "peers", peers),
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
    if let Some(r) = &run_all {
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
    for note in &notes {
        writeln!(md, "- {note}")?;
    }
    if !notes.is_empty() {
        writeln!(md)?;
    }
    writeln!(md, "## Summary: issue 6's targets\n")?;
    writeln!(md, "| benchmark | measure | result | target | |")?;
    writeln!(md, "|---|---|---:|---|---|")?;
    for c in &checks {
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
    let met = checks.iter().filter(|c| c.met == Some(true)).count();
    let missed = checks.iter().filter(|c| c.met == Some(false)).count();
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
    // Hand-written notes (what was changed to meet the targets, before/after figures) live next
    // to the results and are carried over verbatim.
    let notes_file = args.out.with_file_name("NOTES.md");
    if let Ok(hand_written) = std::fs::read_to_string(&notes_file) {
        writeln!(md, "{}", hand_written.trim_end())?;
    }
    std::fs::write(&args.out, md.trim_end().to_owned() + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    for note in &notes {
        println!("note: {note}");
    }
    for path in &charts.written {
        println!("chart {}", path.display());
    }
    println!(
        "wrote {} ({met} targets met, {missed} missed)",
        args.out.display()
    );
    Ok(())
}
