//! Phase 2, the connect storm: every client connects at once; time to `connection_ack`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use serde_json::{Value, json};
use switchboard_bench::{percentile, rss_kib};
use tokio::sync::Barrier;

use crate::{
    Args,
    clients::client,
    met,
    servers::{Env, Peer},
    system::tcp_drops,
};

pub(crate) struct Storm {
    pub(crate) to_ack: Vec<f64>,
    pub(crate) errors: BTreeMap<String, usize>,
    pub(crate) wall_ms: f64,
    pub(crate) idle_kib: u64,
    /// Deltas of ListenOverflows and TCPSynRetrans over the storm.
    pub(crate) overflows: u64,
    pub(crate) syn_retrans: u64,
}

pub(crate) async fn storm(env: &Env, peer: Peer, n: usize, label: &str) -> Result<Storm> {
    let server = env.start(peer, label).await?;
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let barrier = Arc::new(Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let barrier = barrier.clone();
        let addr = server.addr.clone();
        let token = env.sb.token.clone();
        let conversation = env.sb.conversation.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            match tokio::time::timeout(
                Duration::from_secs(60),
                client(&addr, &token, &conversation),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => bail!("timed out after 60 s"),
            }
        }));
    }
    let drops_before = tcp_drops();
    barrier.wait().await;
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(n);
    let mut to_ack = Vec::with_capacity(n);
    let mut errors = BTreeMap::new();
    for task in tasks {
        match task.await? {
            Ok((socket, ms)) => {
                sockets.push(socket);
                to_ack.push(ms);
            }
            Err(error) => {
                let mut kind = error.to_string();
                kind.truncate(80);
                *errors.entry(kind).or_insert(0) += 1;
            }
        }
    }
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let drops_after = tcp_drops();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_kib = rss_kib(pid)?;
    drop(sockets);
    drop(server);
    to_ack.sort_by(f64::total_cmp);
    Ok(Storm {
        to_ack,
        errors,
        wall_ms,
        idle_kib,
        overflows: drops_after.0.saturating_sub(drops_before.0),
        syn_retrans: drops_after.1.saturating_sub(drops_before.1),
    })
}

/// The connect-storm phase: rounds of both servers, their table and verdicts in `report`, their
/// rows for the JSON results.
pub(crate) async fn phase(env: &Env, args: &Args, report: &mut String) -> Result<Vec<Value>> {
    let n = args.connections;
    let mut rows_json = Vec::new();
    let mut rows = String::new();
    let mut pooled: BTreeMap<Peer, (Vec<f64>, usize)> = BTreeMap::new();
    let mut error_lines = String::new();
    for round in 1..=args.rounds {
        for peer in Peer::BOTH {
            let s = storm(env, peer, n, &format!("storm-{round}")).await?;
            let failed: usize = s.errors.values().sum();
            let row = format!(
                "| {round} | {} | {} | {failed} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {} | {:.1} |",
                peer.name(),
                s.to_ack.len(),
                percentile(&s.to_ack, 50.0),
                percentile(&s.to_ack, 95.0),
                s.to_ack.last().copied().unwrap_or(f64::NAN),
                s.wall_ms,
                s.overflows,
                s.syn_retrans,
                s.idle_kib as f64 / 1024.0,
            );
            rows_json.push(json!({
                "round": round, "system": peer.key(), "connections": n, "failures": failed,
                "p50_ms": percentile(&s.to_ack, 50.0), "p95_ms": percentile(&s.to_ack, 95.0),
                "p99_ms": percentile(&s.to_ack, 99.0), "wall_ms": s.wall_ms,
                "listen_overflows": s.overflows,
            }));
            println!("storm {row}");
            rows.push_str(&row);
            rows.push('\n');
            for (kind, count) in &s.errors {
                let _ = writeln!(
                    error_lines,
                    "- round {round}, {}: {count} × `{kind}`",
                    peer.name()
                );
            }
            let entry = pooled.entry(peer).or_default();
            entry.0.extend(s.to_ack);
            entry.1 += failed;
        }
    }
    for entry in pooled.values_mut() {
        entry.0.sort_by(f64::total_cmp);
    }
    let (sb_acks, sb_failed) = &pooled[&Peer::Switchboard];
    let (bare_acks, bare_failed) = &pooled[&Peer::Bare];
    let (sb50, sb95) = (percentile(sb_acks, 50.0), percentile(sb_acks, 95.0));
    let (b50, b95) = (percentile(bare_acks, 50.0), percentile(bare_acks, 95.0));
    if error_lines.is_empty() {
        error_lines.push_str("- none\n");
    }
    let _ = write!(
        report,
        "## Connect storm at {n}\n\n\
         Each server started fresh; {n} client tasks released together by a barrier (no \
         waves), each timing TCP connect + websocket handshake + `connection_init` → \
         `connection_ack` (then it sends the subscribe); 60 s timeout per client. Both \
         servers bind with `tokio::net::TcpListener::bind` (listen backlog 1024; \
         `net.core.somaxconn` = {}). Listen overflows and SYN retransmits: deltas of the \
         machine-wide `TcpExt` counters of `/proc/net/netstat` over the storm (a dropped SYN \
         is retried after 1 s, then 3 s, …).\n\n\
         | round | server | acked | failed | p50 ms | p95 ms | max ms | all done ms | listen overflows | SYN retransmits | RSS after MiB |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n{rows}\n\
         | pooled rounds | Switchboard | bare | ratio | target |\n|---|---|---|---|---|\n\
         | failures | {sb_failed} | {bare_failed} | | 0: {} |\n\
         | p50 time to ack ms | {sb50:.1} | {b50:.1} | {:.2}× | |\n\
         | p95 time to ack ms | {sb95:.1} | {b95:.1} | {:.2}× | ≤ 2× bare: {} |\n\n\
         Errors:\n\n{error_lines}\n",
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        met(*sb_failed == 0),
        sb50 / b50,
        sb95 / b95,
        met(sb95 <= 2.0 * b95),
    );
    Ok(rows_json)
}
