//! Phase 1, memory per idle connection: server RSS growth per authenticated subscriber.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use anyhow::Result;
use serde_json::{Value, json};
use switchboard_bench::rss_kib;

use crate::{
    Args,
    clients::connect_waves,
    met,
    servers::{Env, Peer},
};

pub(crate) struct Memory {
    pub(crate) before_kib: u64,
    pub(crate) idle_kib: u64,
    pub(crate) connected: usize,
    pub(crate) failed: usize,
}

pub(crate) async fn memory(env: &Env, peer: Peer, n: usize, label: &str) -> Result<Memory> {
    let server = env.start(peer, label).await?;
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kib = rss_kib(pid)?;
    let (sockets, failed) =
        connect_waves(&server.addr, &env.sb.token, &env.sb.conversation, n).await;
    // Let the last handshakes, subscriptions and presence writes finish.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let idle_kib = rss_kib(pid)?;
    let connected = sockets.len();
    drop(sockets);
    drop(server);
    Ok(Memory {
        before_kib,
        idle_kib,
        connected,
        failed,
    })
}

/// The memory phase: rounds of both servers, their table and verdicts in `report`, their rows
/// for the JSON results.
pub(crate) async fn phase(env: &Env, args: &Args, report: &mut String) -> Result<Vec<Value>> {
    let n = args.connections;
    let mut rows_json = Vec::new();
    let mut rows = String::new();
    let mut per: BTreeMap<Peer, Vec<f64>> = BTreeMap::new();
    let mut total: BTreeMap<Peer, Vec<f64>> = BTreeMap::new();
    let mut failures = 0;
    for round in 1..=args.rounds {
        for peer in Peer::BOTH {
            let m = memory(env, peer, n, &format!("memory-{round}")).await?;
            let kib = m.idle_kib.saturating_sub(m.before_kib) as f64 / m.connected.max(1) as f64;
            let row = format!(
                "| {round} | {} | {} | {} | {:.1} | {:.1} | {kib:.1} |",
                peer.name(),
                m.connected,
                m.failed,
                m.before_kib as f64 / 1024.0,
                m.idle_kib as f64 / 1024.0,
            );
            rows_json.push(json!({
                "round": round, "system": peer.key(), "connections": m.connected,
                "failed": m.failed, "rss_before_kib": m.before_kib,
                "rss_after_kib": m.idle_kib, "per_connection_kib": kib,
            }));
            println!("memory {row}");
            rows.push_str(&row);
            rows.push('\n');
            failures += m.failed;
            per.entry(peer).or_default().push(kib);
            total
                .entry(peer)
                .or_default()
                .push(m.idle_kib as f64 / 1024.0);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let sb_kib = mean(&per[&Peer::Switchboard]);
    let bare_kib = mean(&per[&Peer::Bare]);
    let sb_total = total[&Peer::Switchboard]
        .iter()
        .copied()
        .fold(0.0, f64::max);
    let ratio = sb_kib / bare_kib;
    let _ = write!(
        report,
        "## Memory per idle connection at {n}\n\n\
         Each server started fresh; clients connect in waves of 250 (authenticated \
         `connection_init`, `connection_ack`, `messageCreated` subscribe — the same client \
         code for both servers), then 4 s idle; RSS from `/proc/PID/status` (VmRSS).\n\n\
         | round | server | connected | failed | RSS before MiB | RSS idle MiB | KiB per connection |\n\
         |---|---|---|---|---|---|---|\n{rows}\n\
         | | Switchboard | bare | ratio | target |\n|---|---|---|---|---|\n\
         | KiB per idle connection (mean of rounds) | {sb_kib:.1} | {bare_kib:.1} | {ratio:.2}× | ≤ 3× bare: {} |\n\
         | Switchboard total RSS at {n} (max of rounds) | {sb_total:.1} MiB | | | ≤ 200 MB: {} |\n\n\
         Connection failures: {failures}.\n\n",
        met(ratio <= 3.0),
        met(sb_total * 1.048_576 <= 200.0),
    );
    Ok(rows_json)
}
