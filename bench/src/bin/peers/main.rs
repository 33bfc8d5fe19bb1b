//! Peer benchmarks (issue 6, benchmarks 3–5): Switchboard against bare peers, side by side and
//! alternating (A B A B), in one run:
//!
//! 1. **memory per idle connection** at `--connections` (10,000): server RSS growth / N, for
//!    Switchboard (authenticated graphql-transport-ws subscribers of `messageCreated`) and the
//!    bare tokio-tungstenite server `ws_baseline` (same client code path), each server fresh;
//! 2. **connect storm** at `--connections`: every client connects at once (released together by a
//!    barrier, no waves); connect → `connection_ack` per client (then the subscribe is sent),
//!    failures and p50/p95, for both servers;
//! 3. **fan-out vs raw Redis**: N graphql-transport-ws subscribers (as `fanout`) against N raw
//!    Redis `SUBSCRIBE` connections on one channel, the same number of publishes at the same rate
//!    (Switchboard: `createMessage` over HTTP; Redis: `PUBLISH` of a sequence number and a
//!    timestamp), p50/p99 delivery and delivered messages/s.
//!
//! ```sh
//! cargo build --release -p switchboard-bench --bin peers --bin ws_baseline
//! cargo run --release -p switchboard-bench --bin peers
//! ```
//!
//! Needs the release server (`$CARGO_TARGET_DIR/release/switchboard`), PostgreSQL and Redis.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

mod clients;
mod fanout;
mod interference;
mod memory;
mod servers;
mod storm;
mod system;

use std::{path::PathBuf, time::Instant};

use anyhow::{Result, bail};
use clap::Parser;
use serde_json::json;

use crate::{
    servers::{Env, setup},
    system::{loadavg, raise_nofile},
};

#[derive(Parser, Debug)]
#[command(about = "Switchboard against bare peers: idle memory, connect storm, fan-out vs Redis")]
pub(crate) struct Args {
    /// Connections for the memory and connect-storm measurements.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) connections: usize,
    /// Alternating rounds (each round measures Switchboard then the peer).
    #[arg(long, default_value_t = 2)]
    pub(crate) rounds: usize,
    /// Subscriber counts for the fan-out comparison, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,1000,5000")]
    pub(crate) subscribers: Vec<usize>,
    /// Messages published per fan-out run.
    #[arg(long, default_value_t = 50)]
    pub(crate) events: usize,
    /// Pause between published messages.
    #[arg(long, default_value_t = 20)]
    pub(crate) interval_ms: u64,
    /// Phases to run, comma-separated (memory, storm, fanout, interference).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "memory,storm,fanout,interference"
    )]
    pub(crate) phases: Vec<String>,
    /// Interference: subscribers receiving events while queries run.
    #[arg(long, default_value_t = 5000)]
    pub(crate) interference_subscribers: usize,
    /// Interference: events per second each subscriber receives.
    #[arg(long, default_value_t = 10)]
    pub(crate) interference_events_per_s: u64,
    /// Interference: fixed rate of contacts-page queries (open loop), per second.
    #[arg(long, default_value_t = 100)]
    pub(crate) query_rate: u64,
    /// Interference: seconds of measured queries per run (after 2 s unmeasured).
    #[arg(long, default_value_t = 15)]
    pub(crate) query_secs: u64,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@localhost/test")]
    pub(crate) postgres: String,
    /// Redis, for Switchboard's event bus and the raw Redis peer.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub(crate) redis: String,
    /// The server binary (default: `switchboard` next to this benchmark's binary).
    #[arg(long)]
    pub(crate) server: Option<PathBuf>,
    /// The bare server binary (default: `ws_baseline` next to this benchmark's binary).
    #[arg(long)]
    pub(crate) baseline: Option<PathBuf>,
    /// Where to write the Markdown results.
    #[arg(long, default_value = "bench/RESULTS-peers.md")]
    pub(crate) out: PathBuf,
    /// Where to write the same results as JSON (read by the `report` binary).
    #[arg(long, default_value = "bench/results/peers.json")]
    pub(crate) json: PathBuf,
}

/// A target's verdict in the Markdown tables.
pub(crate) fn met(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**missed**" }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let nofile = raise_nofile();
    let run_started = Instant::now();
    let load_before = loadavg();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let log_dir = std::env::temp_dir().join(format!("sb-peers-{stamp}"));
    std::fs::create_dir_all(&log_dir)?;
    println!(
        "open files limit {nofile}; server logs in {}",
        log_dir.display()
    );
    if (nofile as usize) < args.connections + 1000 {
        bail!(
            "open files limit {nofile} is below {} connections: run under `ulimit -n 65536`",
            args.connections
        );
    }
    let baseline = match &args.baseline {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("ws_baseline"),
    };
    if !baseline.exists() {
        bail!("{} not found: build --bin ws_baseline", baseline.display());
    }
    let (sb, database) = setup(&args, stamp, &log_dir).await?;
    let env = Env { sb, baseline };
    let n = args.connections;
    let mut report = String::new();

    // The phases in this order, each appending its section to `report`.
    let wanted = |phase: &str| args.phases.iter().any(|p| p == phase);
    let memory_json = if wanted("memory") {
        memory::phase(&env, &args, &mut report).await?
    } else {
        Vec::new()
    };
    let storm_json = if wanted("storm") {
        storm::phase(&env, &args, &mut report).await?
    } else {
        Vec::new()
    };
    let fanout_json = if wanted("fanout") {
        fanout::phase(&env, &args, &mut report).await?
    } else {
        Vec::new()
    };
    let interference_json = if wanted("interference") {
        interference::phase(&env, &args, &mut report).await?
    } else {
        Vec::new()
    };

    // Best effort: the servers are stopped, so the database can go.
    if let Ok(admin) = sea_orm::Database::connect(&args.postgres).await {
        let _ = sea_orm::ConnectionTrait::execute_unprepared(
            &admin,
            &format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
        )
        .await;
    }
    let load_after = loadavg();
    let elapsed = run_started.elapsed().as_secs_f64();
    let header = format!(
        "# Peer benchmarks: Switchboard vs bare tokio-tungstenite and raw Redis\n\n\
         Command: `cargo run --release -p switchboard-bench --bin peers -- --connections {n} \
         --rounds {}` (after `cargo build --release -p switchboard-bench --bin peers --bin \
         ws_baseline` and a release `switchboard`). Rounds alternate Switchboard / peer (A B A B).\n\n\
         Machine: {} cores (nproc), open files limit {nofile}; load average (1/5/15 min) before \
         {load_before}, after {load_after}; run time {elapsed:.0} s. Clients, servers, \
         PostgreSQL and Redis all share the machine; the client process competes with the \
         server for the 2 cores, for both peers alike.\n\n",
        args.rounds,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
    );
    std::fs::write(&args.out, format!("{header}{report}"))?;
    if let Some(dir) = args.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let command = format!(
        "cargo run --release -p switchboard-bench --bin peers -- --connections {n} --rounds {} --phases {}",
        args.rounds,
        args.phases.join(","),
    );
    let machine = format!(
        "{}; load average before {load_before}, after {load_after}; run time {elapsed:.0} s",
        switchboard_bench::machine(),
    );
    let results = json!({
        "written_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "machine": machine,
        "command": command,
        "memory": memory_json,
        "storm": storm_json,
        "fanout": fanout_json,
        "interference": interference_json,
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&results)?)?;
    println!("wrote {} in {elapsed:.0} s", args.out.display());
    Ok(())
}
