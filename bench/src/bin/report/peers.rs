//! The realtime section: memory per subscriber, the connect storm, fan-out delivery and
//! interference, against the peers (`results/peers.json`).

use std::fmt::Write as _;

use anyhow::Result;
use chrono::{DateTime, FixedOffset};
use plotters::prelude::{IntoDrawingArea, SVGBackend, SeriesLabelPosition, WHITE};
use serde_json::Value;

use crate::{
    charts::{
        Bars, Charts, LOADED, Line, SWITCHBOARD, bar_chart, line_chart, system_color, system_name,
    },
    format::{Check, fmt, opt, provenance, table, times},
    read::{mean_of, num, ratio, rows, sum_of, text},
};

pub(crate) fn section(
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
