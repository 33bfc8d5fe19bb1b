//! Fan-out benchmark: N websocket subscribers (graphql-transport-ws) of one conversation's
//! `messageCreated`; a message is posted over HTTP and every subscriber's delivery latency
//! (mutation sent → frame received) is recorded. Also the server's resident memory per idle
//! subscriber.
//!
//! The server runs as its own process (the release binary), so its memory is measured alone:
//!
//! ```sh
//! cargo build --release && cargo run --release -p switchboard-bench --bin fanout
//! cargo run --release -p switchboard-bench --bin fanout -- --subscribers 1,100,1000,5000 --embedded
//! ```

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Result;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use switchboard_bench::{
    Fixture, Process, ServerArgs, Setup, Socket, connect_ws, cpu_ms, gql, percentile, rss_kib,
    server_binary,
};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
#[command(about = "Switchboard subscription fan-out benchmark")]
struct Args {
    /// Subscriber counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,100,1000,5000")]
    subscribers: Vec<usize>,
    /// Messages posted per subscriber count.
    #[arg(long, default_value_t = 50)]
    events: usize,
    /// Pause between posted messages.
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    /// The server under test and its backends.
    #[command(flatten)]
    target: ServerArgs,
    /// Seconds to hold the idle subscribers open after measuring them (to inspect the server).
    #[arg(long, default_value_t = 0)]
    hold_secs: u64,
    /// Where to write the Markdown results.
    #[arg(long, default_value = "bench/RESULTS-fanout.md")]
    out: PathBuf,
}

async fn subscriber(addr: &str, token: &str, conversation: &str) -> Result<Socket> {
    let mut ws = connect_ws(addr, token).await?;
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($c: ID) { messageCreated(conversationId: $c) { id content } }",
        "variables": { "c": conversation } } });
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    Ok(ws)
}

/// One run at `n` subscribers.
struct Run {
    /// Each delivery's latency in ms, sorted.
    latencies: Vec<f64>,
    lost: usize,
    kib_per_subscriber: f64,
    /// The server's CPU time from the first post until every subscriber had every message (or
    /// gave up), per message posted.
    cpu_ms_per_message: f64,
}

/// One run at `n` subscribers.
async fn run(
    server: &Process,
    token: &str,
    conversation: &str,
    n: usize,
    args: &Args,
) -> Result<Run> {
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid)?;
    let mut sockets = Vec::with_capacity(n);
    // Connect in waves so the listen backlog never overflows.
    for chunk in (0..n).collect::<Vec<_>>().chunks(250) {
        let waves = chunk
            .iter()
            .map(|_| subscriber(&server.addr, token, conversation));
        for socket in futures_util::future::join_all(waves).await {
            sockets.push(socket?);
        }
    }
    // Let the last handshakes, subscriptions and presence writes finish.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let idle = rss_kib(pid)?;
    if args.hold_secs > 0 {
        println!(
            "holding {n} idle subscribers for {} s (server pid {pid})",
            args.hold_secs
        );
        tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    }
    let per_subscriber = (idle.saturating_sub(before)) as f64 / n as f64;

    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; args.events]));
    let mut readers = Vec::with_capacity(n);
    for mut socket in sockets {
        let events = args.events;
        readers.push(tokio::spawn(async move {
            let mut received = Vec::with_capacity(events);
            while received.len() < events {
                match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let at = Instant::now();
                        if let Some(seq) = text
                            .split("bench-")
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                            .and_then(|s| s.parse::<usize>().ok())
                        {
                            received.push((seq, at));
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            let _ = socket.close(None).await;
            received
        }));
    }
    let http = reqwest::Client::new();
    let post = "mutation($c: ID!, $t: String!) { createMessage(input: { conversationId: $c, content: $t }) { id } }";
    let cpu_before = cpu_ms(pid)?;
    for seq in 0..args.events {
        let started = Instant::now();
        sent.lock().await[seq] = Some(started);
        gql(
            &http,
            &server.addr,
            Some(token),
            post,
            json!({ "c": conversation, "t": format!("bench-{seq}") }),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    let sent = sent.lock().await.clone();
    let mut latencies = Vec::with_capacity(n * args.events);
    let mut delivered = 0;
    let mut received = Vec::with_capacity(n);
    for reader in readers {
        received.push(reader.await?);
    }
    let cpu = cpu_ms(pid)? - cpu_before;
    for (seq, at) in received.into_iter().flatten() {
        if let Some(Some(started)) = sent.get(seq) {
            latencies.push(at.duration_since(*started).as_secs_f64() * 1000.0);
            delivered += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    Ok(Run {
        latencies,
        lost: n * args.events - delivered,
        kib_per_subscriber: per_subscriber,
        cpu_ms_per_message: cpu / args.events as f64,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let server_bin = server_binary(args.target.server.as_deref())?;
    let fixture = Fixture::start(Setup {
        bin: &server_bin,
        embedded: args.target.embedded,
        postgres: &args.target.postgres,
        redis: &args.target.redis,
        tag: "fanout",
        env: Vec::new(),
    })
    .await?;
    let (server, token, conversation, backend) = (
        &fixture.server,
        &fixture.token,
        &fixture.conversation,
        fixture.backend,
    );

    let mut rows = Vec::new();
    for &n in &args.subscribers {
        let Run {
            latencies,
            lost,
            kib_per_subscriber,
            cpu_ms_per_message,
        } = run(server, token, conversation, n, &args).await?;
        let row = format!(
            "| {n} | {} | {:.2} | {:.2} | {:.2} | {lost} | {:.1} | {:.1} |",
            latencies.len(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or(f64::NAN),
            kib_per_subscriber,
            cpu_ms_per_message
        );
        println!("{row}");
        rows.push(row);
    }
    fixture.finish(false).await?;

    let header = "| subscribers | deliveries | p50 ms | p99 ms | max ms | lost | server KiB per idle subscriber | server CPU ms per message |\n|---|---|---|---|---|---|---|---|";
    let command = format!(
        "cargo run --release -p switchboard-bench --bin fanout --{}",
        if args.target.embedded {
            " --embedded"
        } else {
            ""
        }
    );
    let report = format!(
        "# Fan-out benchmark ({backend})\n\nCommand: `{command}` ({} messages per run, {} ms apart).\nMachine: {} cores. Latency: createMessage sent over HTTP → `next` frame read by each subscriber (same machine, one client process).\n\n{header}\n{}\n",
        args.events,
        args.interval_ms,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        rows.join("\n")
    );
    std::fs::write(&args.out, report)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
