//! Chaos check of resumable subscriptions (docs/design.md §3): N websocket clients whose sockets
//! are dropped every ~2 s (no close frame) while a publisher posts messages over HTTP; each
//! client reconnects, inits and resubscribes with `after` = the last position it saw. At the
//! end every client must hold every published message exactly once, in the order of the
//! account's history.
//!
//! The server runs as its own process (the release binary), on PostgreSQL + Redis or embedded:
//!
//! ```sh
//! cargo build --release --bin switchboard -p switchboard
//! cargo run --release -p switchboard-bench --bin chaos
//! cargo run --release -p switchboard-bench --bin chaos -- --embedded
//! ```
//!
//! Exits with 1 when any client lost, repeated or reordered a message.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard_bench::{
    Fixture, ServerArgs, Setup, Socket, connect_ws, gql, machine, percentile, position_offset,
    server_binary, write_section,
};
use tokio::sync::watch;
use tokio_tungstenite::{MaybeTlsStream, tungstenite::Message};

/// The results file's first lines (when it does not exist yet).
const TITLE: &str = "# Chaos check: resuming under socket drops\n\nWritten by [`src/bin/chaos.rs`](src/bin/chaos.rs), one section per configuration (a run replaces the section of its configuration); how it works: [`README.md`](README.md#chaos-resuming-under-socket-drops).";

#[derive(Parser, Debug, Clone)]
#[command(about = "Switchboard resume chaos check: clients dropped every ~2 s while publishing")]
struct Args {
    /// Websocket clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Messages to publish.
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Publish them over this many seconds (evenly paced; a publisher that falls behind posts
    /// at once until it has caught up).
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// Concurrent HTTP publishers (each posts one message at a time).
    #[arg(long, default_value_t = 4)]
    publishers: usize,
    /// Shortest time a client's socket lives before it is dropped, in ms.
    #[arg(long, default_value_t = 1000)]
    drop_min_ms: u64,
    /// Longest time a client's socket lives before it is dropped, in ms.
    #[arg(long, default_value_t = 3000)]
    drop_max_ms: u64,
    /// Shortest time a client stays offline after a drop before it reconnects, in ms.
    #[arg(long, default_value_t = 0)]
    offline_min_ms: u64,
    /// Longest time a client stays offline after a drop before it reconnects, in ms (the
    /// events published meanwhile are replayed when it resumes).
    #[arg(long, default_value_t = 0)]
    offline_max_ms: u64,
    /// How a socket is dropped: `reset` (SO_LINGER 0: an RST, no close frame, no FIN) or
    /// `vanish` (the client stops reading and reconnects; the old socket stays open, unread,
    /// for `--vanish-secs`, as after a lost network, then is reset).
    #[arg(long, value_enum, default_value_t = DropKind::Reset)]
    drop: DropKind,
    /// How long a vanished socket stays open before it is reset.
    #[arg(long, default_value_t = 10)]
    vanish_secs: u64,
    /// The subscription: `room` (`roomEvents`, whose presence snapshot gives a first position)
    /// or `message` (`messageCreated` of the conversation, positions from
    /// `extensions.position`; a client drops only once it holds a position).
    #[arg(long, value_enum, default_value_t = Subscription::Room)]
    subscription: Subscription,
    /// After publishing, how long clients may take to receive the rest.
    #[arg(long, default_value_t = 60)]
    settle_secs: u64,
    /// Seed of the drop intervals.
    #[arg(long, default_value_t = 13)]
    seed: u64,
    /// The server under test and its backends.
    #[command(flatten)]
    target: ServerArgs,
    /// More environment for the server, `KEY=VALUE` (repeatable), e.g.
    /// `--server-env RUST_LOG=switchboard::events=debug`.
    #[arg(long)]
    server_env: Vec<String>,
    /// The name of this run's section of the results file (a run replaces the section of its
    /// name); default: the backend, subscription, drop kind, offline time and rate.
    #[arg(long)]
    section: Option<String>,
    /// Where to write the Markdown results.
    #[arg(long, default_value = "bench/RESULTS-chaos.md")]
    out: PathBuf,
    /// Write no results file (print only).
    #[arg(long)]
    no_output: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum DropKind {
    Reset,
    Vanish,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Subscription {
    Room,
    Message,
}

impl Subscription {
    fn document(self) -> &'static str {
        match self {
            Self::Room => {
                "subscription($after: String) { roomEvents(after: $after) { event position data } }"
            }
            Self::Message => {
                "subscription($c: ID, $after: String) { messageCreated(conversationId: $c, after: $after) { id content } }"
            }
        }
    }
}

/// Where the run is, as the clients see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Publishing,
    /// Publishing ended; this many messages were published.
    Published(usize),
    /// The settle time is over: stop wherever you are.
    Stop,
}

/// A message as one client received it.
#[derive(Clone, Debug)]
struct Received {
    index: usize,
    message_id: String,
    offset: u64,
}

/// What one client saw.
#[derive(Default, Debug)]
struct ClientReport {
    received: Vec<Received>,
    /// Sockets dropped on purpose.
    drops: usize,
    /// Connections the server ended (close, error or `complete`) that the client did not drop.
    server_ends: usize,
    /// How the server ended them: a close code, an error code, `complete`, end of stream.
    server_end_reasons: HashMap<String, usize>,
    /// Connection attempts that failed (then retried).
    connect_failures: usize,
    history_expired: usize,
    /// Other errors of the subscription, by code.
    errors: HashMap<String, usize>,
    /// Frames the client could not read.
    malformed: usize,
    /// Reconnect (connect, init, ack) times in ms.
    reconnect_ms: Vec<f64>,
    /// Time from a resubscribe to the first message it delivered, in ms (replay latency).
    first_after_resume_ms: Vec<f64>,
    /// Whether it ended holding every published message.
    complete: bool,
}

/// How a subscription ended for the client.
enum End {
    /// The client dropped it on purpose.
    Dropped,
    /// The server ended it (closed, errored, completed), and how.
    ServerEnded(String),
    /// The run is over.
    Finished,
}

/// How a socket ended, in a few words.
fn ended(frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> String {
    match frame {
        Some(Ok(Message::Close(Some(close)))) => format!("close {}", u16::from(close.code)),
        Some(Ok(Message::Close(None))) => "close".into(),
        Some(Ok(_)) => "unexpected frame".into(),
        Some(Err(err)) => format!("read error: {err}"),
        None => "end of stream".into(),
    }
}

struct Client {
    addr: String,
    token: String,
    conversation: String,
    args: Arc<Args>,
    phase: watch::Receiver<Phase>,
    rng: fastrand::Rng,
    position: Option<String>,
    seen: HashSet<usize>,
    report: ClientReport,
    /// Vanished sockets and when to reset them.
    stale: Vec<(Instant, Socket)>,
    /// Its first subscription has started (the publisher waits for every client's).
    started: bool,
}

fn text(message: &Value, pointer: &str) -> Option<String> {
    message
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl Client {
    /// Connects, retrying every 50 ms until the run stops.
    async fn connect(&mut self) -> Option<Socket> {
        loop {
            if *self.phase.borrow() == Phase::Stop {
                return None;
            }
            let started = Instant::now();
            match connect_ws(&self.addr, &self.token).await {
                Ok(ws) => {
                    self.report
                        .reconnect_ms
                        .push(started.elapsed().as_secs_f64() * 1000.0);
                    return Some(ws);
                }
                Err(_) => {
                    self.report.connect_failures += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn subscribe(&self, ws: &mut Socket, id: &str) -> Result<()> {
        let mut variables = json!({ "after": self.position });
        if self.args.subscription == Subscription::Message {
            variables["c"] = json!(self.conversation);
        }
        let subscribe = json!({ "id": id, "type": "subscribe", "payload": {
            "query": self.args.subscription.document(), "variables": variables } });
        ws.send(Message::Text(subscribe.to_string().into())).await?;
        Ok(())
    }

    /// Whether the client holds every published message (once publishing is over).
    fn has_everything(&self) -> bool {
        matches!(*self.phase.borrow(), Phase::Published(total) if self.seen.len() >= total)
    }

    /// Handles a frame of subscription `id`: `Some(end)` when the subscription is over.
    fn handle(&mut self, frame: &str, id: &str, resumed: &mut Option<Instant>) -> Option<End> {
        let Ok(message) = serde_json::from_str::<Value>(frame) else {
            self.report.malformed += 1;
            return None;
        };
        if message["id"] != id {
            return None;
        }
        let errors = match message["type"].as_str() {
            Some("next") if message["payload"]["errors"].is_array() => {
                message["payload"]["errors"].clone()
            }
            Some("error") => message["payload"].clone(),
            Some("complete") => return Some(End::ServerEnded("complete".into())),
            Some("next") => {
                self.next(&message["payload"], resumed);
                return None;
            }
            _ => return None,
        };
        let code = text(&errors, "/0/extensions/code").unwrap_or_else(|| errors.to_string());
        if code == "HISTORY_EXPIRED" {
            // The client can only start afresh: what it missed counts as lost.
            self.report.history_expired += 1;
            self.position = None;
        } else {
            *self.report.errors.entry(code.clone()).or_default() += 1;
        }
        Some(End::ServerEnded(code))
    }

    /// A delivered event: remember its position, record it if it is one of the run's messages.
    fn next(&mut self, payload: &Value, resumed: &mut Option<Instant>) {
        let (position, message) = match self.args.subscription {
            Subscription::Room => {
                let room = &payload["data"]["roomEvents"];
                let message = (room["event"] == "message.created").then(|| &room["data"]);
                (text(room, "/position"), message)
            }
            Subscription::Message => (
                text(payload, "/extensions/position"),
                Some(&payload["data"]["messageCreated"]),
            ),
        };
        let Some(position) = position else {
            self.report.malformed += 1;
            return;
        };
        if let Some(message) = message {
            let index = message["content"]
                .as_str()
                .and_then(|c| c.strip_prefix("chaos-"))
                .and_then(|i| i.parse::<usize>().ok());
            let message_id = match &message["id"] {
                Value::String(id) => id.clone(),
                other => other.to_string(),
            };
            match (index, position_offset(&position)) {
                (Some(index), Some(offset)) => {
                    if let Some(at) = resumed.take() {
                        self.report
                            .first_after_resume_ms
                            .push(at.elapsed().as_secs_f64() * 1000.0);
                    }
                    self.seen.insert(index);
                    self.report.received.push(Received {
                        index,
                        message_id,
                        offset,
                    });
                }
                _ => self.report.malformed += 1,
            }
        }
        self.position = Some(position);
    }

    /// Resets a socket: SO_LINGER 0, so closing it sends an RST (no close frame, no FIN).
    fn reset(ws: Socket) {
        if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
            let _ = tcp.set_zero_linger();
        }
        drop(ws);
    }

    /// Runs one subscription on a fresh socket until it is dropped or ended.
    async fn session(&mut self, ws: &mut Socket, round: usize, ready: Option<&Ready>) -> End {
        let id = format!("s{round}");
        let mut resumed = self.position.as_ref().map(|_| Instant::now());
        if let Err(err) = self.subscribe(ws, &id).await {
            return End::ServerEnded(format!("subscribe not sent: {err}"));
        }
        if let Some(ready) = ready {
            // The first subscription: wait until it has started (its pong), then tell the
            // publisher, and wait for every client to be there.
            if ws
                .send(Message::Text(json!({ "type": "ping" }).to_string().into()))
                .await
                .is_err()
            {
                return End::ServerEnded("ping not sent".into());
            }
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(frame))) => {
                        if frame.contains("\"pong\"") {
                            break;
                        }
                        if let Some(end) = self.handle(&frame, &id, &mut resumed) {
                            return end;
                        }
                    }
                    Some(Ok(_)) => {}
                    other => return End::ServerEnded(ended(other)),
                }
            }
            self.started = true;
            ready.count.fetch_add(1, Ordering::SeqCst);
            let mut go = ready.go.clone();
            let _ = go.wait_for(|go| *go).await;
        }
        let (min, max) = (
            self.args.drop_min_ms,
            self.args.drop_max_ms.max(self.args.drop_min_ms),
        );
        let mut drop_at =
            tokio::time::Instant::now() + Duration::from_millis(self.rng.u64(min..=max));
        let mut phase = self.phase.clone();
        loop {
            if self.has_everything() {
                return End::Finished;
            }
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(frame))) => {
                        if let Some(end) = self.handle(&frame, &id, &mut resumed) {
                            return end;
                        }
                    }
                    other @ (Some(Ok(Message::Close(_))) | None | Some(Err(_))) => {
                        return End::ServerEnded(ended(other));
                    }
                    Some(Ok(_)) => {}
                },
                () = tokio::time::sleep_until(drop_at) => {
                    if self.position.is_none() {
                        // `messageCreated` before its first event: nothing to resume from yet.
                        drop_at += Duration::from_millis(100);
                        continue;
                    }
                    return End::Dropped;
                }
                changed = phase.changed() => {
                    if changed.is_err() || *phase.borrow() == Phase::Stop {
                        return End::Finished;
                    }
                }
            }
        }
    }

    async fn run(mut self, ready: Arc<Ready>) -> ClientReport {
        let mut round = 0;
        loop {
            let Some(mut ws) = self.connect().await else {
                break;
            };
            // Until its first subscription has started, each session is the first.
            let first = (!self.started).then_some(&*ready);
            let end = self.session(&mut ws, round, first).await;
            round += 1;
            self.reap(false);
            match end {
                End::Finished => {
                    let _ = ws.close(None).await;
                    break;
                }
                End::Dropped => {
                    self.report.drops += 1;
                    match self.args.drop {
                        DropKind::Reset => Self::reset(ws),
                        DropKind::Vanish => self.stale.push((
                            Instant::now() + Duration::from_secs(self.args.vanish_secs),
                            ws,
                        )),
                    }
                    let (min, max) = (
                        self.args.offline_min_ms,
                        self.args.offline_max_ms.max(self.args.offline_min_ms),
                    );
                    if max > 0 {
                        let offline = Duration::from_millis(self.rng.u64(min..=max));
                        let mut phase = self.phase.clone();
                        tokio::select! {
                            () = tokio::time::sleep(offline) => {}
                            _ = phase.wait_for(|p| *p == Phase::Stop) => {}
                        }
                    }
                }
                End::ServerEnded(how) => {
                    self.report.server_ends += 1;
                    *self.report.server_end_reasons.entry(how).or_default() += 1;
                    Self::reset(ws);
                }
            }
        }
        self.reap(true);
        self.report.complete = self.has_everything();
        self.report
    }

    /// Resets the vanished sockets whose time is up (all of them with `all`).
    fn reap(&mut self, all: bool) {
        let now = Instant::now();
        let (due, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.stale)
            .into_iter()
            .partition(|(at, _)| all || *at <= now);
        self.stale = kept;
        for (_, ws) in due {
            Self::reset(ws);
        }
    }
}

/// Clients whose first subscription has started, and the signal that publishing begins.
struct Ready {
    count: AtomicUsize,
    go: watch::Receiver<bool>,
}

/// One published message.
#[derive(Clone, Debug)]
struct Published {
    message_id: String,
}

struct PublishReport {
    /// By index: the message, or `None` when its mutation failed.
    messages: Vec<Option<Published>>,
    /// Each publisher's indices in the order it posted them.
    order: Vec<Vec<usize>>,
    failures: Vec<String>,
    latencies_ms: Vec<f64>,
    elapsed: Duration,
}

async fn publish(
    addr: &str,
    token: &str,
    conversation: &str,
    args: &Args,
) -> Result<PublishReport> {
    let next = Arc::new(AtomicUsize::new(0));
    let interval = Duration::from_secs_f64(args.secs as f64 / args.events.max(1) as f64);
    let started = tokio::time::Instant::now();
    let post = "mutation($c: ID!, $t: String!) { createMessage(input: { conversationId: $c, content: $t }) { id } }";
    let mut workers = Vec::new();
    for publisher in 0..args.publishers.max(1) {
        let (next, addr, token, conversation) = (
            next.clone(),
            addr.to_owned(),
            token.to_owned(),
            conversation.to_owned(),
        );
        let events = args.events;
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= events {
                    break;
                }
                tokio::time::sleep_until(started + interval * index as u32).await;
                let sent = Instant::now();
                let result = gql(
                    &http,
                    &addr,
                    Some(&token),
                    post,
                    json!({ "c": conversation, "t": format!("chaos-{index}") }),
                )
                .await;
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                let result = result.and_then(|data| {
                    text(&data, "/createMessage/id").context("createMessage returned no id")
                });
                done.push((index, result.map_err(|e| e.to_string()), ms));
            }
            (publisher, done)
        }));
    }
    let mut report = PublishReport {
        messages: vec![None; args.events],
        order: vec![Vec::new(); args.publishers.max(1)],
        failures: Vec::new(),
        latencies_ms: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for worker in workers {
        let (publisher, done) = worker.await?;
        for (index, result, ms) in done {
            report.latencies_ms.push(ms);
            report.order[publisher].push(index);
            match result {
                Ok(message_id) => {
                    report.messages[index] = Some(Published { message_id });
                }
                Err(err) => report.failures.push(format!("chaos-{index}: {err}")),
            }
        }
    }
    report.elapsed = started.elapsed();
    report.latencies_ms.sort_by(f64::total_cmp);
    Ok(report)
}

/// The run's section name: `--section`, or what sets it apart from other runs.
fn section(args: &Args) -> String {
    if let Some(name) = &args.section {
        return name.clone();
    }
    let mut name = format!(
        "{}-{}-{}-{}clients-{}events-{}s",
        if args.target.embedded {
            "embedded"
        } else {
            "postgres-redis"
        },
        match args.subscription {
            Subscription::Room => "roomEvents",
            Subscription::Message => "messageCreated",
        },
        match args.drop {
            DropKind::Reset => "reset",
            DropKind::Vanish => "vanish",
        },
        args.clients,
        args.events,
        args.secs
    );
    if args.offline_max_ms > 0 {
        let _ = write!(
            name,
            "-offline{}-{}ms",
            args.offline_min_ms,
            args.offline_max_ms.max(args.offline_min_ms)
        );
    }
    name
}

/// The server's counters of interest from `/metrics`.
async fn server_metrics(addr: &str) -> Vec<(String, String)> {
    let Ok(response) = reqwest::get(format!("http://{addr}/metrics")).await else {
        return Vec::new();
    };
    let Ok(body) = response.text().await else {
        return Vec::new();
    };
    body.lines()
        .filter(|l| {
            [
                "switchboard_events_published",
                "switchboard_events_replayed",
                "switchboard_subscriber_catch_ups",
                "switchboard_websocket_connections",
                "switchboard_db_statements_total",
            ]
            .iter()
            .any(|name| l.starts_with(name))
        })
        .filter_map(|l| l.split_once(' '))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// The verdict over every client.
#[derive(Default)]
struct Tally {
    expected: usize,
    delivered: usize,
    lost: usize,
    duplicates: usize,
    order_violations: usize,
    unexpected: usize,
    id_mismatches: usize,
    offset_conflicts: usize,
    publisher_order_violations: usize,
    incomplete_clients: usize,
    /// A few duplicates: the message, its id and the offsets a client received it at.
    duplicate_examples: Vec<(usize, String, Vec<u64>)>,
}

impl Tally {
    fn ok(&self) -> bool {
        self.lost == 0
            && self.duplicates == 0
            && self.order_violations == 0
            && self.unexpected == 0
            && self.id_mismatches == 0
            && self.offset_conflicts == 0
            && self.publisher_order_violations == 0
            && self.incomplete_clients == 0
    }
}

fn tally(published: &PublishReport, clients: &[ClientReport]) -> Tally {
    let expected: HashSet<usize> = published
        .messages
        .iter()
        .enumerate()
        .filter_map(|(index, m)| m.as_ref().map(|_| index))
        .collect();
    let mut t = Tally {
        expected: expected.len() * clients.len(),
        ..Tally::default()
    };
    // The history's order: every client's offset for an index must agree.
    let mut offsets: HashMap<usize, u64> = HashMap::new();
    for client in clients {
        let mut seen = HashSet::new();
        let mut last: Option<u64> = None;
        for r in &client.received {
            if !seen.insert(r.index) {
                t.duplicates += 1;
                if t.duplicate_examples.len() < 5
                    && !t.duplicate_examples.iter().any(|(i, ..)| *i == r.index)
                {
                    let at = client
                        .received
                        .iter()
                        .filter(|o| o.index == r.index)
                        .map(|o| o.offset)
                        .collect();
                    t.duplicate_examples
                        .push((r.index, r.message_id.clone(), at));
                }
            }
            if last.is_some_and(|last| r.offset <= last) {
                t.order_violations += 1;
            }
            last = Some(r.offset);
            match published.messages.get(r.index).and_then(Option::as_ref) {
                Some(p) if p.message_id != r.message_id => t.id_mismatches += 1,
                Some(_) => {}
                None => t.unexpected += 1,
            }
            if *offsets.entry(r.index).or_insert(r.offset) != r.offset {
                t.offset_conflicts += 1;
            }
        }
        let delivered = seen.intersection(&expected).count();
        t.delivered += delivered;
        t.lost += expected.len() - delivered;
        if !client.complete {
            t.incomplete_clients += 1;
        }
    }
    // Each publisher posts one message at a time: its messages are in the history in the
    // order it posted them.
    for order in &published.order {
        let mut last: Option<u64> = None;
        for index in order {
            if let Some(&offset) = offsets.get(index) {
                if last.is_some_and(|last| offset <= last) {
                    t.publisher_order_violations += 1;
                }
                last = Some(offset);
            }
        }
    }
    t
}

fn stats(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    format!(
        "{:.1} / {:.1} / {:.1}",
        percentile(values, 50.0),
        percentile(values, 99.0),
        values.last().copied().unwrap_or(f64::NAN)
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Arc::new(Args::parse());
    let bin = server_binary(args.target.server.as_deref())?;
    let machine_at_start = machine();
    let fixture = Fixture::start(Setup {
        bin: &bin,
        embedded: args.target.embedded,
        postgres: &args.target.postgres,
        redis: &args.target.redis,
        tag: "chaos",
        env: args
            .server_env
            .iter()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .with_context(|| format!("--server-env {pair}: not KEY=VALUE"))
            })
            .collect::<Result<_>>()?,
    })
    .await?;
    let addr = fixture.server.addr.clone();
    let backend = fixture.backend;
    println!(
        "{} clients, {} messages over {} s by {} publishers, sockets dropped ({:?}) every {}–{} ms, {:?} subscription, {}",
        args.clients,
        args.events,
        args.secs,
        args.publishers,
        args.drop,
        args.drop_min_ms,
        args.drop_max_ms,
        args.subscription,
        fixture.backend
    );

    let (phase_tx, phase_rx) = watch::channel(Phase::Publishing);
    let (go_tx, go_rx) = watch::channel(false);
    let ready = Arc::new(Ready {
        count: AtomicUsize::new(0),
        go: go_rx,
    });
    let mut clients = Vec::new();
    for id in 0..args.clients {
        let client = Client {
            addr: addr.clone(),
            token: fixture.token.clone(),
            conversation: fixture.conversation.clone(),
            args: args.clone(),
            phase: phase_rx.clone(),
            rng: fastrand::Rng::with_seed(args.seed.wrapping_mul(1_000_003) + id as u64),
            position: None,
            seen: HashSet::new(),
            report: ClientReport::default(),
            stale: Vec::new(),
            started: false,
        };
        clients.push(tokio::spawn(client.run(ready.clone())));
        if id % 50 == 49 {
            // Connect in waves so the listen backlog never overflows.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let wait_started = Instant::now();
    while ready.count.load(Ordering::SeqCst) < args.clients {
        anyhow::ensure!(
            wait_started.elapsed() < Duration::from_secs(60),
            "only {} of {} clients subscribed within 60 s",
            ready.count.load(Ordering::SeqCst),
            args.clients
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "{} clients subscribed in {:.1} s; publishing",
        args.clients,
        wait_started.elapsed().as_secs_f64()
    );
    let _ = go_tx.send(true);

    let published = publish(&addr, &fixture.token, &fixture.conversation, &args).await?;
    let published_count = published.messages.iter().flatten().count();
    println!(
        "published {published_count} of {} in {:.1} s ({:.0}/s), {} failed; createMessage p50/p99/max {} ms",
        args.events,
        published.elapsed.as_secs_f64(),
        published_count as f64 / published.elapsed.as_secs_f64(),
        published.failures.len(),
        stats(&mut published.latencies_ms.clone()),
    );
    for failure in published.failures.iter().take(5) {
        println!("  failed: {failure}");
    }
    let _ = phase_tx.send(Phase::Published(published_count));
    let settle_started = Instant::now();
    let stopper = {
        let settle = Duration::from_secs(args.settle_secs);
        tokio::spawn(async move {
            tokio::time::sleep(settle).await;
            let _ = phase_tx.send(Phase::Stop);
        })
    };
    let mut reports = Vec::new();
    for client in clients {
        reports.push(client.await?);
    }
    let settled = settle_started.elapsed();
    stopper.abort();
    let metrics = server_metrics(&addr).await;
    let machine_at_end = machine();
    let t = tally(&published, &reports);
    let sum = |f: fn(&ClientReport) -> usize| reports.iter().map(f).sum::<usize>();
    let expired = sum(|r| r.history_expired);
    let passed = t.ok() && expired == 0 && published.failures.is_empty();
    if !passed {
        eprintln!("failed: the server log is kept");
    }
    fixture.finish(!passed).await?;

    let drops = sum(|r| r.drops);
    let server_ends = sum(|r| r.server_ends);
    let connect_failures = sum(|r| r.connect_failures);
    let malformed = sum(|r| r.malformed);
    let mut end_reasons: HashMap<String, usize> = HashMap::new();
    for r in &reports {
        for (how, n) in &r.server_end_reasons {
            *end_reasons.entry(how.clone()).or_default() += n;
        }
    }
    let mut errors: HashMap<String, usize> = HashMap::new();
    for r in &reports {
        for (code, n) in &r.errors {
            *errors.entry(code.clone()).or_default() += n;
        }
    }
    let drops_per_client: Vec<f64> = reports.iter().map(|r| r.drops as f64).collect();
    let mut reconnect_ms: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.reconnect_ms.clone())
        .collect();
    let mut first_ms: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.first_after_resume_ms.clone())
        .collect();
    let delivered_pct = if t.expected == 0 {
        0.0
    } else {
        t.delivered as f64 * 100.0 / t.expected as f64
    };
    let verdict = if passed { "**pass**" } else { "**FAIL**" };

    let mut md = String::new();
    writeln!(md, "## {backend}: {}\n", section(&args))?;
    writeln!(
        md,
        "Written by `chaos` on {}.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )?;
    let command: Vec<String> = std::env::args().skip(1).collect();
    writeln!(
        md,
        "```sh\ncargo run --release -p switchboard-bench --bin chaos -- {}\n```\n",
        command.join(" ")
    )?;
    writeln!(
        md,
        "- Machine: {machine_at_start}; at the end {}",
        machine_at_end.rsplit("; ").next().unwrap_or("")
    )?;
    writeln!(
        md,
        "- {} clients on one account's `{}` subscription ({}), each socket dropped after a random {}–{} ms ({}), then {}reconnect, `connection_init`, `subscribe` with `after` = the last position the client saw",
        args.clients,
        match args.subscription {
            Subscription::Room => "roomEvents",
            Subscription::Message => "messageCreated(conversationId)",
        },
        backend,
        args.drop_min_ms,
        args.drop_max_ms,
        match args.drop {
            DropKind::Reset => "an RST: SO_LINGER 0, no close frame",
            DropKind::Vanish =>
                "the client stops reading and leaves the socket open, then resets it",
        },
        if args.offline_max_ms > 0 {
            format!(
                "{}–{} ms offline, ",
                args.offline_min_ms,
                args.offline_max_ms.max(args.offline_min_ms)
            )
        } else {
            String::new()
        }
    )?;
    writeln!(
        md,
        "- Publisher: {} `createMessage` over HTTP, {} concurrent connections, paced over {} s: **{published_count} published in {:.1} s ({:.0}/s)**, {} failed; createMessage p50 / p99 / max {} ms",
        args.events,
        args.publishers,
        args.secs,
        published.elapsed.as_secs_f64(),
        published_count as f64 / published.elapsed.as_secs_f64(),
        published.failures.len(),
        stats(&mut published.latencies_ms.clone()),
    )?;
    if t.incomplete_clients == 0 {
        writeln!(
            md,
            "- After publishing, every client had everything within {:.1} s (limit {} s)\n",
            settled.as_secs_f64(),
            args.settle_secs
        )?;
    } else {
        writeln!(
            md,
            "- After publishing, {} clients still lacked messages when the {} s to settle ran out\n",
            t.incomplete_clients, args.settle_secs
        )?;
    }
    writeln!(md, "| measure | result |\n|---|---:|")?;
    writeln!(md, "| verdict | {verdict} |")?;
    writeln!(
        md,
        "| delivered (distinct published messages received, over clients × published) | **{delivered_pct:.3} %** ({} of {}) |",
        t.delivered, t.expected
    )?;
    writeln!(md, "| lost | {} |", t.lost)?;
    writeln!(md, "| duplicates | {} |", t.duplicates)?;
    writeln!(
        md,
        "| out of order (a client's offsets not increasing) | {} |",
        t.order_violations
    )?;
    writeln!(
        md,
        "| a publisher's messages out of its posting order | {} |",
        t.publisher_order_violations
    )?;
    writeln!(
        md,
        "| clients disagreeing on a message's position | {} |",
        t.offset_conflicts
    )?;
    writeln!(
        md,
        "| messages not published / id different from the publisher's | {} / {} |",
        t.unexpected, t.id_mismatches
    )?;
    writeln!(
        md,
        "| clients that did not end with every message | {} |",
        t.incomplete_clients
    )?;
    writeln!(md, "| `HISTORY_EXPIRED` | {expired} |")?;
    writeln!(
        md,
        "| other subscription errors | {} |",
        if errors.is_empty() {
            "0".to_owned()
        } else {
            format!("{errors:?}")
        }
    )?;
    writeln!(
        md,
        "| socket drops (= reconnects) | {drops} (per client {:.0}–{:.0}) |",
        drops_per_client
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min),
        drops_per_client.iter().copied().fold(0.0, f64::max)
    )?;
    let mut reasons: Vec<String> = end_reasons
        .iter()
        .map(|(how, n)| format!("{how}: {n}"))
        .collect();
    reasons.sort();
    writeln!(
        md,
        "| connections the server ended | {server_ends}{} |",
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    )?;
    writeln!(
        md,
        "| failed connection attempts (retried) | {connect_failures} |"
    )?;
    writeln!(md, "| unreadable frames | {malformed} |")?;
    writeln!(
        md,
        "| reconnect (TCP + websocket handshake + init → ack) p50 / p99 / max ms | {} |",
        stats(&mut reconnect_ms)
    )?;
    writeln!(
        md,
        "| resubscribe → first missed message p50 / p99 / max ms | {} |",
        stats(&mut first_ms)
    )?;
    for (name, value) in &metrics {
        writeln!(md, "| server `{name}` at the end | {value} |")?;
    }
    if !t.duplicate_examples.is_empty() {
        writeln!(
            md,
            "\nDuplicates (the same message, by id, at two positions):\n"
        )?;
        for (index, id, offsets) in &t.duplicate_examples {
            writeln!(
                md,
                "- `chaos-{index}` (message {id}) at offsets {offsets:?}"
            )?;
        }
    }
    print!("{md}");
    if !args.no_output {
        write_section(&args.out, TITLE, &format!("chaos:{}", section(&args)), &md)?;
        println!("wrote {}", args.out.display());
    }
    if verdict != "**pass**" {
        std::process::exit(1);
    }
    Ok(())
}
