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
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use switchboard_bench::{Process, Socket, cpu_ms, free_port, gql, percentile, rss_kib};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

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
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@localhost/test")]
    postgres: String,
    /// Redis for the event bus.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Use the embedded default (SQLite file, in-process events) instead of PostgreSQL + Redis.
    #[arg(long)]
    embedded: bool,
    /// The server binary (default: `switchboard` next to this benchmark's binary).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Seconds to hold the idle subscribers open after measuring them (to inspect the server).
    #[arg(long, default_value_t = 0)]
    hold_secs: u64,
    /// Where to write the Markdown results.
    #[arg(long, default_value = "bench/RESULTS-fanout.md")]
    out: PathBuf,
}

async fn subscriber(addr: &str, token: &str, conversation: &str) -> Result<Socket> {
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => break,
            Some(Ok(_)) => {}
            other => bail!("no ack: {other:?}"),
        }
    }
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
    let server_bin = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("switchboard"),
    };
    if !server_bin.exists() {
        bail!(
            "{} not found: run `cargo build --release` first",
            server_bin.display()
        );
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let dir = std::env::temp_dir().join(format!("sb-fanout-{stamp}"));
    std::fs::create_dir_all(&dir)?;
    // The PostgreSQL database this run creates, dropped at the end.
    let mut created: Option<(sea_orm::DatabaseConnection, String)> = None;
    let (database_url, redis_url, backend) = if args.embedded {
        (
            format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
            None,
            "SQLite + in-process events",
        )
    } else {
        let name = format!("sb_fanout_{stamp}");
        let admin = sea_orm::Database::connect(&args.postgres).await?;
        sea_orm::ConnectionTrait::execute_unprepared(
            &admin,
            &format!("CREATE DATABASE \"{name}\""),
        )
        .await?;
        let (server, _) = args
            .postgres
            .rsplit_once('/')
            .context("postgres URL has a database")?;
        let url = format!("{server}/{name}");
        created = Some((admin, name));
        (url, Some(args.redis.clone()), "PostgreSQL + Redis")
    };
    let port = free_port()?;
    let env = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", &database_url)
            .env("JWT_SECRET", "bench-secret")
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("REDIS_PREFIX", format!("sbbench{stamp}"))
            // Every subscriber uses the bench user's one token.
            .env("MAX_SOCKETS_PER_USER", "1000000")
            .env("RUST_LOG", "warn")
            // As in production: no backtrace captured for every logged error.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .env_remove("REDIS_URL");
        if let Some(redis) = &redis_url {
            cmd.env("REDIS_URL", redis);
        }
    };
    let mut create = Command::new(&server_bin);
    create.args([
        "create-account",
        "--name",
        "Bench",
        "--admin-email",
        "bench@example.com",
        "--admin-password",
        "bench password",
    ]);
    env(&mut create);
    let output = create.output()?;
    if !output.status.success() {
        bail!(
            "create-account failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut serve = Command::new(&server_bin);
    env(&mut serve);
    let log = dir.join("server.log");
    println!("server log: {}", log.display());
    let child = serve
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let server = Process {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    server.wait_ready(100).await?;
    let http = reqwest::Client::new();
    let login = gql(
        &http,
        &server.addr,
        None,
        "mutation { login(email: \"bench@example.com\", password: \"bench password\") { token } }",
        json!({}),
    )
    .await?;
    let token = login["login"]["token"]
        .as_str()
        .context("token")?
        .to_owned();
    let inbox = gql(
        &http,
        &server.addr,
        Some(&token),
        "mutation { createInbox(input: { name: \"Web\", channelType: \"web\" }) { id } }",
        json!({}),
    )
    .await?;
    let contact = gql(&http, &server.addr, Some(&token), "mutation { createContact(input: { name: \"Bench\", email: \"contact@example.com\" }) { id } }", json!({})).await?;
    let conversation = gql(
        &http,
        &server.addr,
        Some(&token),
        "mutation($c: ID!, $i: ID!) { createConversation(input: { contactId: $c, inboxId: $i }) { id } }",
        json!({ "c": contact["createContact"]["id"], "i": inbox["createInbox"]["id"] }),
    )
    .await?;
    let conversation = conversation["createConversation"]["id"]
        .as_str()
        .context("conversation id")?
        .to_owned();

    let mut rows = Vec::new();
    for &n in &args.subscribers {
        let Run {
            latencies,
            lost,
            kib_per_subscriber,
            cpu_ms_per_message,
        } = run(&server, &token, &conversation, n, &args).await?;
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
    drop(server);
    if let Some((admin, name)) = created {
        sea_orm::ConnectionTrait::execute_unprepared(
            &admin,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        )
        .await?;
    }
    let _ = std::fs::remove_dir_all(&dir);

    let header = "| subscribers | deliveries | p50 ms | p99 ms | max ms | lost | server KiB per idle subscriber | server CPU ms per message |\n|---|---|---|---|---|---|---|---|";
    let command = format!(
        "cargo run --release -p switchboard-bench --bin fanout --{}",
        if args.embedded { " --embedded" } else { "" }
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
