//! The queries section: Switchboard against PostGraphile and pgbench, closed and open loop
//! (`results/queries.json`).

use std::fmt::Write as _;

use anyhow::Result;
use chrono::{DateTime, FixedOffset};
use plotters::prelude::{IntoDrawingArea, SVGBackend, WHITE};
use serde_json::Value;

use crate::{
    charts::{Bars, Charts, bar_chart, system_color, system_name},
    format::{Check, fmt, opt, provenance, times},
    read::{distinct, mean_of, num, ratio, rows, sum_of, text},
};

const PEERS: [&str; 2] = ["switchboard", "postgraphile"];

pub(crate) fn section(
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
