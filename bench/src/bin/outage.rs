//! Mutations while Redis is down (docs/design.md §3, "Nothing committed is lost"): the latency
//! of `createMessage` with Redis up against with Redis killed, in alternating phases of one
//! run, and every event delivered once, in order, to a subscriber that stayed connected.
//!
//! Starts its own `redis-server` on a free port (never the shared one) and the release server
//! on a fresh PostgreSQL database with `REDIS_URL` pointing at it. Each round: `--requests`
//! mutations with Redis up, then Redis killed (SIGKILL, as a crash) and `--requests` more, then
//! Redis started again (empty: a new epoch) and the subscriber waits for every event of the
//! round. Mutations are sent one at a time by `--clients` concurrent HTTP clients.
//!
//! ```sh
//! cargo build --release --bin switchboard -p switchboard
//! cargo run --release -p switchboard-bench --bin outage
//! ```

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard_bench::{
    Fixture, Setup, Socket, connect_ws, free_port, gql, machine, percentile, write_section,
};
use tokio_tungstenite::tungstenite::Message;

const TITLE: &str = "# Mutations while Redis is down\n\nWritten by [`src/bin/outage.rs`](src/bin/outage.rs) (a run replaces its section); how it works: [`README.md`](README.md#outage-mutation-latency-while-redis-is-down).";

const POST: &str = "mutation($input: CreateMessageInput!) { createMessage(input: $input) { id } }";
const MESSAGES: &str = "subscription($c: ID) { messageCreated(conversationId: $c) { id content } }";

#[derive(Parser, Debug)]
#[command(about = "createMessage latency with Redis up vs killed, and every event delivered")]
struct Args {
    /// Mutations per phase.
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Rounds of (Redis up, Redis down).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@localhost/test")]
    postgres: String,
    /// The server binary (default: `switchboard` next to this benchmark's binary).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The results file (its section is replaced).
    #[arg(long, default_value = "bench/RESULTS-outage.md")]
    output: PathBuf,
    /// Print only; write no results file.
    #[arg(long)]
    no_output: bool,
}

/// A private `redis-server`, killed when dropped.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    async fn start(port: u16) -> Result<Self> {
        let mut redis = Self { port, child: None };
        redis.spawn().await?;
        Ok(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) -> Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("redis-server on port {} did not start", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Posts `count` messages named `<tag>-<i>` from `clients` concurrent clients; returns each
/// latency in ms.
async fn post(
    addr: &str,
    token: &str,
    conversation: &str,
    tag: &str,
    count: usize,
    clients: usize,
) -> Result<Vec<f64>> {
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (addr, token, conversation, tag) = (
            addr.to_owned(),
            token.to_owned(),
            conversation.to_owned(),
            tag.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            for i in (client..count).step_by(clients) {
                let started = Instant::now();
                let data = gql(
                    &http,
                    &addr,
                    Some(&token),
                    POST,
                    json!({ "input": { "conversationId": conversation, "content": format!("{tag}-{i}") } }),
                )
                .await?;
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                if data["createMessage"]["id"].as_str().is_none() {
                    bail!("createMessage answered {data}");
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

/// Reads the subscriber's messages until every one of `expected` has arrived; errors on a
/// duplicate, on a client's messages out of its posting order (`last`: the latest index heard
/// per phase and client), or on silence longer than `patience`.
async fn receive(
    ws: &mut Socket,
    expected: &HashSet<String>,
    seen: &mut HashSet<String>,
    last: &mut HashMap<(String, usize), usize>,
    clients: usize,
    patience: Duration,
) -> Result<Duration> {
    let started = Instant::now();
    while !expected.is_subset(seen) {
        let frame = tokio::time::timeout(patience, ws.next())
            .await
            .context("the subscriber heard nothing")?;
        let Some(Ok(Message::Text(text))) = frame else {
            continue;
        };
        let message: Value = serde_json::from_str(&text)?;
        if message["type"] != "next" {
            bail!("unexpected message: {message}");
        }
        let content = message["payload"]["data"]["messageCreated"]["content"]
            .as_str()
            .with_context(|| format!("a message: {message}"))?
            .to_owned();
        if !seen.insert(content.clone()) {
            bail!("{content} delivered twice");
        }
        let (tag, index) = content
            .rsplit_once('-')
            .and_then(|(tag, i)| Some((tag.to_owned(), i.parse::<usize>().ok()?)))
            .with_context(|| format!("an unexpected message: {content}"))?;
        if let Some(previous) = last.insert((tag, index % clients), index)
            && previous > index
        {
            bail!("{content} arrived after message {previous} of the same client");
        }
    }
    Ok(started.elapsed())
}

fn summary(latencies: &mut [f64]) -> (f64, f64, f64) {
    latencies.sort_by(f64::total_cmp);
    (
        percentile(latencies, 50.0),
        percentile(latencies, 99.0),
        latencies.last().copied().unwrap_or_default(),
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin = switchboard_bench::server_binary(args.server.as_deref())?;
    let mut redis = Redis::start(free_port()?).await?;
    let load_before = machine();
    let fixture = Fixture::start(Setup {
        bin: &bin,
        embedded: false,
        postgres: &args.postgres,
        redis: &redis.url(),
        tag: "outage",
        env: Vec::new(),
    })
    .await?;
    let addr = fixture.server.addr.clone();
    let mut ws = connect_ws(&addr, &fixture.token).await?;
    let subscribe = json!({ "id": "m", "type": "subscribe", "payload": { "query": MESSAGES, "variables": { "c": fixture.conversation } } });
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    // The server answers a `ping` only once every earlier operation has started: after the
    // `pong`, no event passes the subscription by.
    ws.send(Message::Text(json!({ "type": "ping" }).to_string().into()))
        .await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.contains("\"pong\"") => break,
            Some(Ok(_)) => {}
            other => bail!("no pong: {other:?}"),
        }
    }
    let mut seen = HashSet::new();
    let mut last = HashMap::new();

    let (mut up, mut down) = (Vec::new(), Vec::new());
    let mut catch_up = Vec::new();
    for round in 0..args.rounds {
        let up_tag = format!("up{round}");
        up.extend(
            post(
                &addr,
                &fixture.token,
                &fixture.conversation,
                &up_tag,
                args.requests,
                args.clients,
            )
            .await?,
        );
        redis.kill();
        let down_tag = format!("down{round}");
        down.extend(
            post(
                &addr,
                &fixture.token,
                &fixture.conversation,
                &down_tag,
                args.requests,
                args.clients,
            )
            .await?,
        );
        redis.spawn().await?;
        let expected: HashSet<String> = (0..args.requests)
            .flat_map(|i| [format!("{up_tag}-{i}"), format!("{down_tag}-{i}")])
            .collect();
        let waited = receive(
            &mut ws,
            &expected,
            &mut seen,
            &mut last,
            args.clients,
            Duration::from_secs(30),
        )
        .await?;
        catch_up.push(waited.as_secs_f64());
        println!(
            "round {round}: {} up, {} down, all {} delivered {:.2} s after Redis returned",
            args.requests,
            args.requests,
            expected.len(),
            waited.as_secs_f64()
        );
    }
    let delivered = seen.len();
    let (up_p50, up_p99, up_max) = summary(&mut up);
    let (down_p50, down_p99, down_max) = summary(&mut down);

    let mut section = String::new();
    writeln!(
        section,
        "## PostgreSQL + a private Redis, killed and restarted\n"
    )?;
    writeln!(
        section,
        "Written by `outage` on {}.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )?;
    writeln!(
        section,
        "```sh\ncargo run --release -p switchboard-bench --bin outage -- --requests {} --rounds {} --clients {}\n```\n",
        args.requests, args.rounds, args.clients
    )?;
    writeln!(section, "- Machine: {load_before}")?;
    writeln!(
        section,
        "- {} rounds of {} `createMessage` with Redis up, then Redis killed (SIGKILL) and {} more, then Redis started again empty; {} concurrent HTTP clients, one mutation at a time each; a `messageCreated` subscriber connected throughout\n",
        args.rounds, args.requests, args.requests, args.clients
    )?;
    writeln!(
        section,
        "| phase | mutations | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|"
    )?;
    writeln!(
        section,
        "| Redis up | {} | {up_p50:.2} | {up_p99:.2} | {up_max:.1} |",
        up.len()
    )?;
    writeln!(
        section,
        "| Redis down | {} | {down_p50:.2} | {down_p99:.2} | {down_max:.1} |",
        down.len()
    )?;
    writeln!(
        section,
        "| **down / up** | | **{:.2}×** | **{:.2}×** | |\n",
        down_p50 / up_p50,
        down_p99 / up_p99
    )?;
    writeln!(
        section,
        "- Delivered to the subscriber: **{delivered} of {}**, none twice, each client's in its posting order; every round's events had arrived {} s after Redis returned",
        up.len() + down.len(),
        catch_up
            .iter()
            .map(|secs| format!("{secs:.2}"))
            .collect::<Vec<_>>()
            .join(" / ")
    )?;
    println!("{section}");
    fixture.finish(false).await?;
    if !args.no_output {
        write_section(&args.output, TITLE, "outage", &section)?;
        println!("wrote {}", args.output.display());
    }
    Ok(())
}
