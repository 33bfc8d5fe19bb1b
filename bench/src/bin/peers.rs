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

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use switchboard_bench::{Process, Socket, free_port, gql, percentile, rss_kib};
use tokio::sync::{Barrier, Mutex};
use tokio_tungstenite::tungstenite::{
    Message, client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig,
};

#[derive(Parser, Debug)]
#[command(about = "Switchboard against bare peers: idle memory, connect storm, fan-out vs Redis")]
struct Args {
    /// Connections for the memory and connect-storm measurements.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Alternating rounds (each round measures Switchboard then the peer).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Subscriber counts for the fan-out comparison, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,1000,5000")]
    subscribers: Vec<usize>,
    /// Messages published per fan-out run.
    #[arg(long, default_value_t = 50)]
    events: usize,
    /// Pause between published messages.
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    /// Phases to run, comma-separated (memory, storm, fanout, interference).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "memory,storm,fanout,interference"
    )]
    phases: Vec<String>,
    /// Interference: subscribers receiving events while queries run.
    #[arg(long, default_value_t = 5000)]
    interference_subscribers: usize,
    /// Interference: events per second each subscriber receives.
    #[arg(long, default_value_t = 10)]
    interference_events_per_s: u64,
    /// Interference: fixed rate of contacts-page queries (open loop), per second.
    #[arg(long, default_value_t = 100)]
    query_rate: u64,
    /// Interference: seconds of measured queries per run (after 2 s unmeasured).
    #[arg(long, default_value_t = 15)]
    query_secs: u64,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@localhost/test")]
    postgres: String,
    /// Redis, for Switchboard's event bus and the raw Redis peer.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// The server binary (default: `switchboard` next to this benchmark's binary).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The bare server binary (default: `ws_baseline` next to this benchmark's binary).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Where to write the Markdown results.
    #[arg(long, default_value = "bench/RESULTS-peers.md")]
    out: PathBuf,
    /// Where to write the same results as JSON (read by the `report` binary).
    #[arg(long, default_value = "bench/results/peers.json")]
    json: PathBuf,
}

/// How to start Switchboard, and the fixtures created once for every run.
struct Switchboard {
    bin: PathBuf,
    database_url: String,
    redis: String,
    prefix: String,
    log_dir: PathBuf,
    token: String,
    conversation: String,
}

impl Switchboard {
    fn command(&self, port: u16) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("DATABASE_URL", &self.database_url)
            .env("JWT_SECRET", "bench-secret")
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("REDIS_PREFIX", &self.prefix)
            .env("REDIS_URL", &self.redis)
            .env("RUST_LOG", "warn")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE");
        cmd
    }

    async fn start(&self, label: &str) -> Result<Process> {
        let port = free_port()?;
        let log = self.log_dir.join(format!("switchboard-{label}.log"));
        let child = self
            .command(port)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let proc = Process {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        proc.wait_ready(200)
            .await
            .with_context(|| format!("switchboard not ready (log: {})", log.display()))?;
        Ok(proc)
    }
}

async fn start_baseline(bin: &Path) -> Result<Process> {
    let port = free_port()?;
    let child = Command::new(bin)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let proc = Process {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&proc.addr).await.is_ok() {
            return Ok(proc);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("ws_baseline not listening")
}

/// Raises the soft open-files limit to the hard limit (inherited by the servers started here).
fn raise_nofile() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    getrlimit(Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft)
}

/// `TcpExt` counters of `/proc/net/netstat`: (ListenOverflows, TCPSynRetrans), machine-wide.
fn tcp_drops() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("TcpExt:")).collect();
    let (Some(names), Some(values)) = (lines.first(), lines.get(1)) else {
        return (0, 0);
    };
    let pairs: BTreeMap<&str, u64> = names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter_map(|(n, v)| Some((n, v.parse().ok()?)))
        .collect();
    (
        pairs.get("ListenOverflows").copied().unwrap_or(0),
        pairs.get("TCPSynRetrans").copied().unwrap_or(0),
    )
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One graphql-transport-ws client, the same for both servers: connect, `connection_init` with
/// the token, wait for `connection_ack`, send the `messageCreated` subscribe. Returns the socket
/// and connect → ack in ms.
async fn client(addr: &str, token: &str, conversation: &str) -> Result<(Socket, f64)> {
    let started = Instant::now();
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    // Small client buffers: 10,000 clients live in this one process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => break,
            Some(Ok(Message::Text(text))) => bail!("no ack: {text}"),
            Some(Ok(_)) => {}
            other => bail!("no ack: {other:?}"),
        }
    }
    let to_ack = started.elapsed().as_secs_f64() * 1000.0;
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($c: ID) { messageCreated(conversationId: $c) { id content } }",
        "variables": { "c": conversation } } });
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    Ok((ws, to_ack))
}

/// Connects `n` clients in waves of 250 (so the listen backlog never overflows).
async fn connect_waves(
    addr: &str,
    token: &str,
    conversation: &str,
    n: usize,
) -> (Vec<Socket>, usize) {
    let mut sockets = Vec::with_capacity(n);
    let mut failed = 0;
    let mut left = n;
    while left > 0 {
        let wave = left.min(250);
        left -= wave;
        let clients = (0..wave).map(|_| {
            tokio::time::timeout(Duration::from_secs(30), client(addr, token, conversation))
        });
        for result in futures_util::future::join_all(clients).await {
            match result {
                Ok(Ok((socket, _))) => sockets.push(socket),
                _ => failed += 1,
            }
        }
    }
    (sockets, failed)
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Peer {
    Switchboard,
    Bare,
}

impl Peer {
    fn key(self) -> &'static str {
        match self {
            Peer::Switchboard => "switchboard",
            Peer::Bare => "bare",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Peer::Switchboard => "Switchboard",
            Peer::Bare => "bare tokio-tungstenite",
        }
    }
}

struct Env {
    sb: Switchboard,
    baseline: PathBuf,
}

impl Env {
    async fn start(&self, peer: Peer, label: &str) -> Result<Process> {
        match peer {
            Peer::Switchboard => self.sb.start(label).await,
            Peer::Bare => start_baseline(&self.baseline).await,
        }
    }
}

struct Memory {
    before_kib: u64,
    idle_kib: u64,
    connected: usize,
    failed: usize,
}

async fn memory(env: &Env, peer: Peer, n: usize, label: &str) -> Result<Memory> {
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

struct Storm {
    to_ack: Vec<f64>,
    errors: BTreeMap<String, usize>,
    wall_ms: f64,
    idle_kib: u64,
    /// Deltas of ListenOverflows and TCPSynRetrans over the storm.
    overflows: u64,
    syn_retrans: u64,
}

async fn storm(env: &Env, peer: Peer, n: usize, label: &str) -> Result<Storm> {
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

/// The sequence number after `bench-` in a frame or a Redis payload.
fn parse_seq(text: &str) -> Option<usize> {
    let rest = text.split("bench-").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

struct Fanout {
    latencies: Vec<f64>,
    lost: usize,
    failed: usize,
    per_second: f64,
    /// Server RSS growth per connected subscriber (Switchboard only).
    rss_per_subscriber_kib: Option<f64>,
}

/// Turns the readers' (seq, receive time) lists into latencies, losses and a delivery rate.
async fn collect(
    readers: Vec<tokio::task::JoinHandle<Vec<(usize, Instant)>>>,
    sent: &[Option<Instant>],
    expected: usize,
    failed: usize,
) -> Result<Fanout> {
    let mut latencies = Vec::with_capacity(expected);
    let mut last = None::<Instant>;
    for reader in readers {
        for (seq, at) in reader.await? {
            if let Some(Some(started)) = sent.get(seq) {
                latencies.push(at.duration_since(*started).as_secs_f64() * 1000.0);
                last = Some(last.map_or(at, |l| l.max(at)));
            }
        }
    }
    let first = sent.iter().flatten().min().copied();
    let per_second = match (first, last) {
        (Some(first), Some(last)) if last > first => {
            latencies.len() as f64 / last.duration_since(first).as_secs_f64()
        }
        _ => f64::NAN,
    };
    latencies.sort_by(f64::total_cmp);
    Ok(Fanout {
        lost: expected.saturating_sub(latencies.len()),
        latencies,
        failed,
        per_second,
        rss_per_subscriber_kib: None,
    })
}

async fn fanout_switchboard(env: &Env, n: usize, args: &Args, label: &str) -> Result<Fanout> {
    let server = env.sb.start(label).await?;
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid)?;
    let (sockets, failed) =
        connect_waves(&server.addr, &env.sb.token, &env.sb.conversation, n).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss_kib(pid)?;
    let connected = n - failed;
    let events = args.events;
    let mut readers = Vec::with_capacity(n);
    for mut socket in sockets {
        readers.push(tokio::spawn(async move {
            let mut received = Vec::with_capacity(events);
            while received.len() < events {
                match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let at = Instant::now();
                        if let Some(seq) = parse_seq(&text) {
                            received.push((seq, at));
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            drop(socket);
            received
        }));
    }
    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; events]));
    let http = reqwest::Client::new();
    let post = "mutation($c: ID!, $t: String!) { createMessage(input: { conversationId: $c, content: $t }) { id } }";
    for seq in 0..events {
        sent.lock().await[seq] = Some(Instant::now());
        gql(
            &http,
            &server.addr,
            Some(&env.sb.token),
            post,
            json!({ "c": env.sb.conversation, "t": format!("bench-{seq}") }),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    let sent = sent.lock().await.clone();
    let mut result = collect(readers, &sent, (n - failed) * events, failed).await?;
    result.rss_per_subscriber_kib =
        Some(rss_idle.saturating_sub(rss_before) as f64 / connected.max(1) as f64);
    drop(server);
    Ok(result)
}

async fn fanout_redis(n: usize, args: &Args, channel: &str) -> Result<Fanout> {
    let client = redis::Client::open(args.redis.as_str())?;
    let mut subscribers = Vec::with_capacity(n);
    let mut failed = 0;
    let mut left = n;
    while left > 0 {
        let wave = left.min(250);
        left -= wave;
        let connects = (0..wave).map(|_| async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        });
        for result in futures_util::future::join_all(connects).await {
            match result {
                Ok(pubsub) => subscribers.push(pubsub),
                Err(_) => failed += 1,
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = args.events;
    let mut readers = Vec::with_capacity(n);
    for pubsub in subscribers {
        readers.push(tokio::spawn(async move {
            let mut stream = pubsub.into_on_message();
            let mut received = Vec::with_capacity(events);
            while received.len() < events {
                match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
                    Ok(Some(msg)) => {
                        let at = Instant::now();
                        if let Some(seq) = msg
                            .get_payload::<String>()
                            .ok()
                            .as_deref()
                            .and_then(parse_seq)
                        {
                            received.push((seq, at));
                        }
                    }
                    _ => break,
                }
            }
            received
        }));
    }
    let mut publisher = client.get_multiplexed_async_connection().await?;
    let mut sent = vec![None; events];
    for (seq, slot) in sent.iter_mut().enumerate() {
        *slot = Some(Instant::now());
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_micros();
        let _: i64 = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(format!("bench-{seq} {micros}"))
            .query_async(&mut publisher)
            .await?;
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    collect(readers, &sent, (n - failed) * events, failed).await
}

/// The query of the interference runs: benchmark 1's contacts page (20 contacts, 8 fields).
const PAGE_QUERY: &str = "query Page { contacts(first: 20, sort: {field: CREATED_AT, direction: ASC}) { edges { node { id name email phoneNumber createdAt updatedAt blocked contactType } } } }";

/// Contacts the interference account holds (the page reads the first 20).
const INTERFERENCE_CONTACTS: usize = 40;

/// Latencies of an open-loop run and how many responses were wrong.
struct OpenLoop {
    latencies: Vec<f64>,
    errors: usize,
}

/// Sends the contacts page at a fixed `rate` for `secs`, each request on its own schedule
/// (open loop: a slow response does not delay the next request). Latency is measured from the
/// request's *scheduled* time, so queueing in the client counts too (no coordinated omission).
/// Every response is checked: status 200, no `errors`, 20 contacts.
async fn open_loop(
    http: &reqwest::Client,
    addr: &str,
    token: &str,
    rate: u64,
    secs: u64,
) -> OpenLoop {
    let url = format!("http://{addr}/graphql");
    let body = Arc::new(json!({ "query": PAGE_QUERY }).to_string());
    let total = rate * secs;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = start + period * i as u32;
        tokio::time::sleep_until(scheduled).await;
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        let auth = format!("Bearer {token}");
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(&url)
                .header("content-type", "application/json")
                .header("authorization", auth)
                .body(body.to_string())
                .send()
                .await;
            let ok = match response {
                Ok(r) if r.status().is_success() => match r.json::<serde_json::Value>().await {
                    Ok(v) => {
                        v.get("errors").is_none()
                            && v["data"]["contacts"]["edges"]
                                .as_array()
                                .is_some_and(|e| e.len() == 20)
                    }
                    Err(_) => false,
                },
                _ => false,
            };
            (scheduled.elapsed().as_secs_f64() * 1000.0, ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok((ms, true)) => latencies.push(ms),
            _ => errors += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    OpenLoop { latencies, errors }
}

/// One interference run on a fresh server: the query load alone, or while
/// `--interference-subscribers` subscribers each receive `--interference-events-per-s` events.
struct Interference {
    queries: OpenLoop,
    delivered: usize,
    expected: usize,
    delivery: Vec<f64>,
    failed: usize,
}

async fn interference(env: &Env, loaded: bool, args: &Args, label: &str) -> Result<Interference> {
    let server = env.sb.start(label).await?;
    let http = reqwest::Client::new();
    let token = env.sb.token.clone();
    let n = if loaded {
        args.interference_subscribers
    } else {
        0
    };
    let (sockets, failed) = connect_waves(&server.addr, &token, &env.sb.conversation, n).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Readers record (seq, receive time) until the publisher's last event, then 3 s more.
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut readers = Vec::with_capacity(sockets.len());
    for mut socket in sockets {
        let stop = stop.clone();
        readers.push(tokio::spawn(async move {
            let mut received = Vec::new();
            let stopped = stop.notified();
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    () = &mut stopped => break,
                    frame = socket.next() => match frame {
                        Some(Ok(Message::Text(text))) => {
                            let at = Instant::now();
                            if let Some(seq) = parse_seq(&text) {
                                received.push((seq, at));
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
            received
        }));
    }
    let publishing = Arc::new(std::sync::atomic::AtomicBool::new(loaded));
    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(Vec::new()));
    let publisher = {
        let (http, addr, token) = (http.clone(), server.addr.clone(), token.clone());
        let conversation = env.sb.conversation.clone();
        let (publishing, sent) = (publishing.clone(), sent.clone());
        let period = Duration::from_secs_f64(1.0 / args.interference_events_per_s.max(1) as f64);
        tokio::spawn(async move {
            let post = "mutation($c: ID!, $t: String!) { createMessage(input: { conversationId: $c, content: $t }) { id } }";
            let mut tick = tokio::time::interval(period);
            let mut seq = 0;
            while publishing.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                sent.lock().await.push(Some(Instant::now()));
                gql(
                    &http,
                    &addr,
                    Some(&token),
                    post,
                    json!({ "c": conversation, "t": format!("bench-{seq}") }),
                )
                .await?;
                seq += 1;
            }
            anyhow::Ok(())
        })
    };
    // The query load runs on its own thread and runtime, as another client would: in this
    // process its requests would otherwise queue behind the subscribers' reader tasks. 2 s
    // unmeasured first (warms the server's pools and caches, lets the event flow settle).
    let queries = {
        let (addr, token) = (server.addr.clone(), token.clone());
        let (rate, secs) = (args.query_rate, args.query_secs);
        tokio::task::spawn_blocking(move || -> Result<OpenLoop> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            Ok(runtime.block_on(async {
                let http = reqwest::Client::new();
                let _ = open_loop(&http, &addr, &token, rate, 2).await;
                open_loop(&http, &addr, &token, rate, secs).await
            }))
        })
        .await??
    };
    publishing.store(false, std::sync::atomic::Ordering::Relaxed);
    publisher.await??;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.notify_waiters();
    let sent = sent.lock().await.clone();
    let expected = (n - failed) * sent.len();
    let fanout = collect(readers, &sent, expected, failed).await?;
    drop(server);
    Ok(Interference {
        queries,
        delivered: fanout.latencies.len(),
        expected,
        delivery: fanout.latencies,
        failed,
    })
}

/// Creates the database, the account and the conversation every run subscribes to.
async fn setup(args: &Args, stamp: u128, log_dir: &Path) -> Result<(Switchboard, String)> {
    let bin = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("switchboard"),
    };
    if !bin.exists() {
        bail!("{} not found: build the server in release", bin.display());
    }
    let name = format!("sb_peers_{stamp}");
    let admin = sea_orm::Database::connect(&args.postgres).await?;
    sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE DATABASE \"{name}\""))
        .await?;
    let (server, _) = args
        .postgres
        .rsplit_once('/')
        .context("postgres URL has a database")?;
    let mut sb = Switchboard {
        bin,
        database_url: format!("{server}/{name}"),
        redis: args.redis.clone(),
        prefix: format!("sbpeers{stamp}"),
        log_dir: log_dir.to_owned(),
        token: String::new(),
        conversation: String::new(),
    };
    // Migrations run on the first start; the account is created after them.
    let first = sb.start("setup").await?;
    let output = sb
        .command(0)
        .args([
            "create-account",
            "--name",
            "Bench",
            "--admin-email",
            "bench@example.com",
            "--admin-password",
            "bench password",
        ])
        .output()?;
    if !output.status.success() {
        bail!(
            "create-account failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let http = reqwest::Client::new();
    let addr = first.addr.clone();
    let login = gql(
        &http,
        &addr,
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
        &addr,
        Some(&token),
        "mutation { createInbox(input: { name: \"Web\", channelType: \"web\" }) { id } }",
        json!({}),
    )
    .await?;
    let contact = gql(
        &http,
        &addr,
        Some(&token),
        "mutation { createContact(input: { name: \"Bench\", email: \"contact@example.com\" }) { id } }",
        json!({}),
    )
    .await?;
    let conversation = gql(
        &http,
        &addr,
        Some(&token),
        "mutation($c: ID!, $i: ID!) { createConversation(input: { contactId: $c, inboxId: $i }) { id } }",
        json!({ "c": contact["createContact"]["id"], "i": inbox["createInbox"]["id"] }),
    )
    .await?;
    for i in 1..INTERFERENCE_CONTACTS {
        gql(
            &http,
            &addr,
            Some(&token),
            "mutation($e: String!) { createContact(input: { name: \"Page\", email: $e }) { id } }",
            json!({ "e": format!("page-{i}@example.com") }),
        )
        .await?;
    }
    sb.conversation = conversation["createConversation"]["id"]
        .as_str()
        .context("conversation id")?
        .to_owned();
    sb.token = token;
    drop(first);
    Ok((sb, name))
}

fn met(ok: bool) -> &'static str {
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
    let peers = [Peer::Switchboard, Peer::Bare];
    let mut report = String::new();
    let mut memory_json = Vec::new();
    let mut storm_json = Vec::new();
    let mut fanout_json = Vec::new();
    let mut interference_json = Vec::new();

    if args.phases.iter().any(|p| p == "memory") {
        let mut rows = String::new();
        let mut per: BTreeMap<Peer, Vec<f64>> = BTreeMap::new();
        let mut total: BTreeMap<Peer, Vec<f64>> = BTreeMap::new();
        let mut failures = 0;
        for round in 1..=args.rounds {
            for peer in peers {
                let m = memory(&env, peer, n, &format!("memory-{round}")).await?;
                let kib =
                    m.idle_kib.saturating_sub(m.before_kib) as f64 / m.connected.max(1) as f64;
                let row = format!(
                    "| {round} | {} | {} | {} | {:.1} | {:.1} | {kib:.1} |",
                    peer.name(),
                    m.connected,
                    m.failed,
                    m.before_kib as f64 / 1024.0,
                    m.idle_kib as f64 / 1024.0,
                );
                memory_json.push(json!({
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
    }

    if args.phases.iter().any(|p| p == "storm") {
        let mut rows = String::new();
        let mut pooled: BTreeMap<Peer, (Vec<f64>, usize)> = BTreeMap::new();
        let mut error_lines = String::new();
        for round in 1..=args.rounds {
            for peer in peers {
                let s = storm(&env, peer, n, &format!("storm-{round}")).await?;
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
                storm_json.push(json!({
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
    }

    if args.phases.iter().any(|p| p == "fanout") {
        let mut rows = String::new();
        let mut pooled: BTreeMap<(usize, bool), Vec<f64>> = BTreeMap::new();
        let mut rates: BTreeMap<(usize, bool), Vec<f64>> = BTreeMap::new();
        for round in 1..=args.rounds {
            for &subs in &args.subscribers {
                for is_redis in [false, true] {
                    let label = format!("fanout-{round}-{subs}");
                    let f = if is_redis {
                        fanout_redis(subs, &args, &format!("sbpeers{stamp}:raw:{round}:{subs}"))
                            .await?
                    } else {
                        fanout_switchboard(&env, subs, &args, &label).await?
                    };
                    let row = format!(
                        "| {round} | {subs} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.0} |",
                        if is_redis { "raw Redis" } else { "Switchboard" },
                        f.latencies.len(),
                        f.lost,
                        f.failed,
                        percentile(&f.latencies, 50.0),
                        percentile(&f.latencies, 99.0),
                        f.latencies.last().copied().unwrap_or(f64::NAN),
                        f.per_second,
                    );
                    fanout_json.push(json!({
                        "round": round, "system": if is_redis { "redis" } else { "switchboard" },
                        "subscribers": subs, "expected": f.latencies.len() + f.lost,
                        "delivered": f.latencies.len(), "lost": f.lost, "failed": f.failed,
                        "p50_ms": percentile(&f.latencies, 50.0),
                        "p99_ms": percentile(&f.latencies, 99.0),
                        "messages_per_s": f.per_second,
                        "rss_per_subscriber_kib": f.rss_per_subscriber_kib,
                    }));
                    println!("fanout {row}");
                    rows.push_str(&row);
                    rows.push('\n');
                    pooled
                        .entry((subs, is_redis))
                        .or_default()
                        .extend(f.latencies);
                    rates
                        .entry((subs, is_redis))
                        .or_default()
                        .push(f.per_second);
                }
            }
        }
        let mut summary = String::new();
        for &subs in &args.subscribers {
            let mut sb = pooled.remove(&(subs, false)).unwrap_or_default();
            let mut raw = pooled.remove(&(subs, true)).unwrap_or_default();
            sb.sort_by(f64::total_cmp);
            raw.sort_by(f64::total_cmp);
            let mean = |v: Option<&Vec<f64>>| {
                v.map_or(f64::NAN, |v| v.iter().sum::<f64>() / v.len().max(1) as f64)
            };
            let (s50, s99) = (percentile(&sb, 50.0), percentile(&sb, 99.0));
            let (r50, r99) = (percentile(&raw, 50.0), percentile(&raw, 99.0));
            let _ = writeln!(
                summary,
                "| {subs} | {s50:.2} | {r50:.2} | {:.1}× | {s99:.2} | {r99:.2} | {:.1}× | {:.0} | {:.0} |",
                s50 / r50,
                s99 / r99,
                mean(rates.get(&(subs, false))),
                mean(rates.get(&(subs, true))),
            );
        }
        let _ = write!(
            report,
            "## Fan-out: Switchboard vs raw Redis\n\n\
             {} messages per run, {} ms apart. Switchboard: N graphql-transport-ws subscribers \
             (connected in waves of 250, fresh server per run), each message a `createMessage` \
             over HTTP; latency = mutation sent → `next` frame read. Raw Redis: N connections of \
             the `redis` crate, each `SUBSCRIBE`d to one channel, each message a `PUBLISH` of \
             `bench-SEQ UNIX_MICROS` from one more connection; latency = `PUBLISH` sent → message \
             read. Same client process and the same timing code for both. Messages/s = \
             deliveries / (first send → last delivery).\n\n\
             | round | N | peer | deliveries | lost | failed connects | p50 ms | p99 ms | max ms | delivered msg/s |\n\
             |---|---|---|---|---|---|---|---|---|---|\n{rows}\n\
             Pooled over rounds:\n\n\
             | N | Switchboard p50 ms | Redis p50 ms | p50 ratio | Switchboard p99 ms | Redis p99 ms | p99 ratio | Switchboard msg/s | Redis msg/s |\n\
             |---|---|---|---|---|---|---|---|---|\n{summary}\n",
            args.events, args.interval_ms,
        );
    }

    if args.phases.iter().any(|p| p == "interference") {
        let mut rows = String::new();
        let mut pooled: BTreeMap<bool, Vec<f64>> = BTreeMap::new();
        let subs = args.interference_subscribers;
        for round in 1..=args.rounds {
            for loaded in [false, true] {
                let label = format!(
                    "interference-{round}-{}",
                    if loaded { "loaded" } else { "alone" }
                );
                let r = interference(&env, loaded, &args, &label).await?;
                let q = &r.queries.latencies;
                let phase = if loaded { "loaded" } else { "alone" };
                let row = format!(
                    "| {round} | {phase} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} / {} | {:.1} / {:.1} |",
                    q.len(),
                    r.queries.errors,
                    percentile(q, 50.0),
                    percentile(q, 90.0),
                    percentile(q, 99.0),
                    q.last().copied().unwrap_or(f64::NAN),
                    if loaded { subs - r.failed } else { 0 },
                    r.delivered,
                    r.expected,
                    percentile(&r.delivery, 50.0),
                    percentile(&r.delivery, 99.0),
                );
                println!("interference {row}");
                interference_json.push(json!({
                    "round": round, "phase": phase, "rate": args.query_rate,
                    "requests": q.len() + r.queries.errors, "errors": r.queries.errors,
                    "p50_ms": percentile(q, 50.0), "p90_ms": percentile(q, 90.0),
                    "p99_ms": percentile(q, 99.0), "max_ms": q.last().copied(),
                    "subscribers": if loaded { subs - r.failed } else { 0 },
                    "events_per_s": if loaded { args.interference_events_per_s } else { 0 },
                    "delivered": r.delivered, "expected": r.expected,
                    "delivery_p50_ms": percentile(&r.delivery, 50.0),
                    "delivery_p99_ms": percentile(&r.delivery, 99.0),
                }));
                rows.push_str(&row);
                rows.push('\n');
                pooled
                    .entry(loaded)
                    .or_default()
                    .extend(r.queries.latencies);
            }
        }
        for v in pooled.values_mut() {
            v.sort_by(f64::total_cmp);
        }
        let alone = pooled.get(&false).cloned().unwrap_or_default();
        let loaded = pooled.get(&true).cloned().unwrap_or_default();
        let (a99, l99) = (percentile(&alone, 99.0), percentile(&loaded, 99.0));
        let _ = write!(
            report,
            "## Interference: queries while subscribers receive events\n\n\
             Each run on a fresh server. The contacts page (20 contacts, 8 fields, benchmark 1's \
             query) is sent open loop at {} requests/s (each request on its own schedule; \
             latency from the *scheduled* send time, so client-side queueing counts), 2 s \
             unmeasured then {} s measured; every response checked (200, no errors, 20 rows). \
             *Alone*: nothing else. *Loaded*: {subs} graphql-transport-ws subscribers of \
             `messageCreated` on one conversation, and a `createMessage` over HTTP {} times a \
             second, so each subscriber receives {} events/s ({} frames/s out of the server).\n\n\
             | round | run | queries ok | bad | p50 ms | p90 ms | p99 ms | max ms | subscribers | delivered / expected | delivery p50 / p99 ms |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n{rows}\n\
             | pooled rounds | alone | loaded | ratio | target |\n|---|---|---|---|---|\n\
             | query p50 ms | {:.2} | {:.2} | {:.2}× | |\n\
             | query p99 ms | {a99:.2} | {l99:.2} | {:.2}× | ≤ 1.5× alone: {} |\n\n",
            args.query_rate,
            args.query_secs,
            args.interference_events_per_s,
            args.interference_events_per_s,
            subs as u64 * args.interference_events_per_s,
            percentile(&alone, 50.0),
            percentile(&loaded, 50.0),
            percentile(&loaded, 50.0) / percentile(&alone, 50.0),
            l99 / a99,
            met(l99 <= 1.5 * a99),
        );
    }

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
