//! The event history (docs/design.md §3): how fast a resuming client receives what it missed
//! (replay rate), and what the history costs in Redis (bytes per 1,000 retained events).
//!
//! Starts the release server as its own process on a fresh database, reads the account's head
//! position, publishes `--events` messages with no subscriber (measuring Redis at each
//! `--memory-at` count), then subscribes `--rounds` times with `after` = that head position and
//! times the replay of every message (each once, positions increasing), through `messageCreated` and through `roomEvents`:
//!
//! ```sh
//! cargo build --release --bin switchboard -p switchboard
//! cargo run --release -p switchboard-bench --bin history
//! cargo run --release -p switchboard-bench --bin history -- --embedded
//! ```

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::{
    fmt::Write as _,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard_bench::{
    Fixture, ServerArgs, Setup, connect_ws, gql, machine, percentile, position_offset, rss_kib,
    server_binary, write_section,
};
use tokio_tungstenite::tungstenite::Message;

const TITLE: &str = "# Event history: replay rate and Redis memory\n\nWritten by [`src/bin/history.rs`](src/bin/history.rs), one section per backend or `--section` (a run replaces its own); how it works: [`README.md`](README.md#history-replay-rate-and-redis-memory).";

#[derive(Parser, Debug)]
#[command(about = "Switchboard event history: replay rate and Redis memory per retained event")]
struct Args {
    /// Messages published before resuming (at most the server's `EVENT_HISTORY_LENGTH`, 5,000
    /// by default, so that all are kept).
    #[arg(long, default_value_t = 5000)]
    events: usize,
    /// Counts of published messages at which Redis memory is measured, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000")]
    memory_at: Vec<usize>,
    /// Characters of each message's text (a chat message; the event carries the whole row).
    #[arg(long, default_value_t = 100)]
    content_chars: usize,
    /// Concurrent HTTP publishers.
    #[arg(long, default_value_t = 4)]
    publishers: usize,
    /// Replays measured per subscription.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The server under test and its backends.
    #[command(flatten)]
    target: ServerArgs,
    /// The name of this run's section of the results file (a run replaces the section of its
    /// name); default: the backend.
    #[arg(long)]
    section: Option<String>,
    /// Where to write the Markdown results.
    #[arg(long, default_value = "bench/RESULTS-history.md")]
    out: PathBuf,
    /// Write no results file (print only).
    #[arg(long)]
    no_output: bool,
}

const ROOM: &str =
    "subscription($after: String) { roomEvents(after: $after) { event position data } }";
const MESSAGES: &str = "subscription($c: ID, $after: String) { messageCreated(conversationId: $c, after: $after) { id content } }";

/// The account's head position: the `position` of `roomEvents`' first delivery, its presence
/// snapshot.
async fn head_position(addr: &str, token: &str) -> Result<String> {
    let mut ws = connect_ws(addr, token).await?;
    let subscribe = json!({ "id": "h", "type": "subscribe", "payload": { "query": ROOM } });
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .context("no presence snapshot within 10 s")?;
        if let Some(Ok(Message::Text(text))) = frame {
            let message: Value = serde_json::from_str(&text)?;
            if let Some(position) = message["payload"]["data"]["roomEvents"]["position"].as_str() {
                let _ = ws.close(None).await;
                return Ok(position.to_owned());
            }
        }
    }
}

/// Posts messages `from..to` with `publishers` concurrent HTTP connections; the elapsed time.
async fn publish(fixture: &Fixture, from: usize, to: usize, args: &Args) -> Result<Duration> {
    let next = Arc::new(AtomicUsize::new(from));
    let started = Instant::now();
    let filler = "x".repeat(args.content_chars.saturating_sub(16));
    let post = "mutation($c: ID!, $t: String!) { createMessage(input: { conversationId: $c, content: $t }) { id } }";
    let mut workers = Vec::new();
    for _ in 0..args.publishers.max(1) {
        let (next, addr, token, conversation, filler) = (
            next.clone(),
            fixture.server.addr.clone(),
            fixture.token.clone(),
            fixture.conversation.clone(),
            filler.clone(),
        );
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= to {
                    return Ok::<_, anyhow::Error>(());
                }
                gql(
                    &http,
                    &addr,
                    Some(&token),
                    post,
                    json!({ "c": conversation, "t": format!("history-{index:06} {filler}") }),
                )
                .await?;
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(started.elapsed())
}

/// Redis figures at one point: the stream's `MEMORY USAGE` (every entry sampled), its length,
/// the server's `used_memory`.
struct RedisPoint {
    published: usize,
    stream_bytes: u64,
    stream_len: u64,
    used_memory: u64,
}

async fn redis_point(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    published: usize,
) -> Result<RedisPoint> {
    let stream_bytes: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(conn)
        .await?;
    let stream_len: u64 = redis::cmd("XLEN").arg(key).query_async(conn).await?;
    let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
    let used_memory = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("used_memory in INFO memory")?;
    Ok(RedisPoint {
        published,
        stream_bytes: stream_bytes.unwrap_or(0),
        stream_len,
        used_memory,
    })
}

/// The mean size of an entry's event JSON (the `e` field) over the stream's first 100 entries.
async fn mean_event_bytes(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> Result<f64> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(100)
        .query_async(conn)
        .await?;
    let sizes: Vec<usize> = entries
        .iter()
        .filter_map(|(_, fields)| fields.iter().find(|(k, _)| k == "e").map(|(_, v)| v.len()))
        .collect();
    if sizes.is_empty() {
        bail!("no entries in {key}");
    }
    Ok(sizes.iter().sum::<usize>() as f64 / sizes.len() as f64)
}

/// One replay's times, from `subscribe` sent.
struct Replay {
    /// To the last message.
    secs: f64,
    /// To the first frame (`roomEvents`: its presence snapshot).
    first_frame_ms: f64,
    /// To the first message.
    first_message_ms: f64,
}

/// One replay: subscribe with `after`, receive `count` messages.
async fn replay(fixture: &Fixture, room: bool, after: &str, count: usize) -> Result<Replay> {
    let mut ws = connect_ws(&fixture.server.addr, &fixture.token).await?;
    let (query, variables) = if room {
        (ROOM, json!({ "after": after }))
    } else {
        (
            MESSAGES,
            json!({ "after": after, "c": fixture.conversation }),
        )
    };
    let subscribe = json!({ "id": "r", "type": "subscribe", "payload": { "query": query, "variables": variables } });
    let started = Instant::now();
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    let mut received = 0;
    let mut first = None;
    let mut first_frame = None;
    let mut seen = std::collections::HashSet::new();
    let mut last_offset: Option<u64> = None;
    while received < count {
        let frame = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .with_context(|| format!("replay stalled after {received} of {count}"))?;
        let Some(Ok(Message::Text(text))) = frame else {
            match frame {
                Some(Ok(_)) => continue,
                other => bail!("socket ended after {received} of {count}: {other:?}"),
            }
        };
        let message: Value = serde_json::from_str(&text)?;
        if message["payload"]["errors"].is_array() || message["type"] == "error" {
            bail!("replay failed: {message}");
        }
        let payload = &message["payload"];
        first_frame.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
        let (content, position) = if room {
            let event = &payload["data"]["roomEvents"];
            if event["event"] != "message.created" {
                continue;
            }
            (
                event["data"]["content"].as_str(),
                event["position"].as_str(),
            )
        } else {
            (
                payload["data"]["messageCreated"]["content"].as_str(),
                payload["extensions"]["position"].as_str(),
            )
        };
        // Several publishers: the history's order is the positions', not the indices'.
        let index = content
            .and_then(|c| c.strip_prefix("history-"))
            .and_then(|c| c.get(..6))
            .and_then(|i| i.parse::<usize>().ok())
            .with_context(|| format!("not a published message: {message}"))?;
        let offset = position
            .and_then(position_offset)
            .with_context(|| format!("no position: {message}"))?;
        if last_offset.is_some_and(|last| offset <= last) {
            bail!("offset {offset} after {last_offset:?}: out of order");
        }
        last_offset = Some(offset);
        if index >= count || !seen.insert(index) {
            bail!("message {index} twice or unexpected");
        }
        first.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
        received += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = ws.close(None).await;
    Ok(Replay {
        secs,
        first_frame_ms: first_frame.unwrap_or(f64::NAN),
        first_message_ms: first.unwrap_or(f64::NAN),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin = server_binary(args.target.server.as_deref())?;
    let machine_at_start = machine();
    let fixture = Fixture::start(Setup {
        bin: &bin,
        embedded: args.target.embedded,
        postgres: &args.target.postgres,
        redis: &args.target.redis,
        tag: "history",
        env: Vec::new(),
    })
    .await?;
    let pid = fixture.server.child.id();
    let backend = fixture.backend;
    let after = head_position(&fixture.server.addr, &fixture.token).await?;
    let account = after.split(':').next().context("position")?.to_owned();
    let mut redis = match &fixture.redis_prefix {
        Some(prefix) => {
            let client = redis::Client::open(args.target.redis.as_str())?;
            let conn = client.get_multiplexed_async_connection().await?;
            Some((conn, format!("{prefix}:{{a{account}}}:log")))
        }
        None => None,
    };
    println!("{}; resuming after {after}", fixture.backend);

    let mut points = Vec::new();
    if let Some((conn, key)) = &mut redis {
        points.push(redis_point(conn, key, 0).await?);
    }
    let rss_before = rss_kib(pid)?;
    let mut rss_points = Vec::new();
    let mut published = 0;
    let mut publish_secs = 0.0;
    let mut stops: Vec<usize> = args
        .memory_at
        .iter()
        .copied()
        .filter(|&n| n < args.events)
        .collect();
    stops.push(args.events);
    for stop in stops {
        publish_secs += publish(&fixture, published, stop, &args)
            .await?
            .as_secs_f64();
        published = stop;
        // Let the publisher task drain its queue into Redis.
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some((conn, key)) = &mut redis {
            let point = redis_point(conn, key, published).await?;
            println!(
                "{published} published: stream {} entries, MEMORY USAGE {} B, used_memory {} B",
                point.stream_len, point.stream_bytes, point.used_memory
            );
            points.push(point);
        }
        rss_points.push((published, rss_kib(pid)?));
    }
    let event_bytes = match &mut redis {
        Some((conn, key)) => Some(mean_event_bytes(conn, key).await?),
        None => None,
    };
    println!(
        "published {published} in {publish_secs:.1} s ({:.0}/s)",
        published as f64 / publish_secs
    );

    let mut results: Vec<(&str, Vec<Replay>)> =
        vec![("messageCreated", Vec::new()), ("roomEvents", Vec::new())];
    for round in 1..=args.rounds {
        for (name, runs) in &mut results {
            let room = *name == "roomEvents";
            let run = replay(&fixture, room, &after, published).await?;
            println!(
                "round {round} {name}: {published} replayed in {:.3} s = {:.0} events/s (first frame after {:.1} ms, first message after {:.1} ms)",
                run.secs,
                published as f64 / run.secs,
                run.first_frame_ms,
                run.first_message_ms
            );
            runs.push(run);
        }
    }
    let machine_at_end = machine();
    fixture.finish(false).await?;

    let mut md = String::new();
    match &args.section {
        Some(name) => writeln!(md, "## {backend}: {name}\n")?,
        None => writeln!(md, "## {backend}\n")?,
    }
    let command: Vec<String> = std::env::args().skip(1).collect();
    writeln!(
        md,
        "Written by `history` on {}.\n\n```sh\ncargo run --release -p switchboard-bench --bin history -- {}\n```\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        command.join(" ")
    )?;
    writeln!(
        md,
        "- Machine: {machine_at_start}; at the end {}",
        machine_at_end.rsplit("; ").next().unwrap_or("")
    )?;
    writeln!(
        md,
        "- {published} `createMessage` of {} characters each, posted by {} concurrent HTTP clients with no subscriber: {publish_secs:.1} s ({:.0}/s)",
        args.content_chars,
        args.publishers,
        published as f64 / publish_secs
    )?;
    writeln!(
        md,
        "- Replay: a fresh websocket subscribes with `after` = the head position read before publishing; timed from `subscribe` sent to the last message read (every message checked, in order), the client on the same machine\n"
    )?;
    writeln!(
        md,
        "| subscription | rounds: seconds for {published} | events/s (median) | first frame after ms (median) | first message after ms (median) |\n|---|---|---:|---:|---:|"
    )?;
    for (name, runs) in &results {
        let median = |f: fn(&Replay) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(f).collect();
            values.sort_by(f64::total_cmp);
            percentile(&values, 50.0)
        };
        let secs: Vec<String> = runs.iter().map(|r| format!("{:.3}", r.secs)).collect();
        writeln!(
            md,
            "| `{name}` | {} | **{:.0}** | {:.1} | {:.1} |",
            secs.join(", "),
            published as f64 / median(|r| r.secs),
            median(|r| r.first_frame_ms),
            median(|r| r.first_message_ms)
        )?;
    }
    writeln!(md)?;
    if let Some(event_bytes) = event_bytes {
        writeln!(
            md,
            "Redis: the account's stream (`MEMORY USAGE <prefix>:{{a{account}}}:log SAMPLES 0`, every entry counted) and the server's `used_memory` (`INFO memory`; the Redis is shared, so other clients move it too). Each entry holds the event's JSON (the whole message row: {event_bytes:.0} bytes on average here) and its time.\n"
        )?;
        writeln!(
            md,
            "| published | stream entries | stream bytes | **stream bytes per 1,000 entries** | `used_memory` growth since 0 | per 1,000 events |\n|---:|---:|---:|---:|---:|---:|"
        )?;
        let base = &points[0];
        for p in &points {
            let per_thousand = if p.published == 0 {
                "–".to_owned()
            } else {
                format!(
                    "{:.0}",
                    p.stream_bytes as f64 * 1000.0 / p.stream_len as f64
                )
            };
            let growth = p.used_memory as i64 - base.used_memory as i64;
            let growth_per_thousand = if p.published == 0 {
                "–".to_owned()
            } else {
                format!("{:.0}", growth as f64 * 1000.0 / p.published as f64)
            };
            writeln!(
                md,
                "| {} | {} | {} | {per_thousand} | {growth} | {growth_per_thousand} |",
                p.published, p.stream_len, p.stream_bytes
            )?;
        }
        writeln!(md)?;
    } else {
        let rows: Vec<String> = rss_points
            .iter()
            .map(|(n, kib)| format!("{kib} KiB after {n} events"))
            .collect();
        writeln!(
            md,
            "In-process history (a ring buffer per account): the server's resident memory was {rss_before} KiB before publishing, {} (the allocator's reuse of freed memory hides the history's share at this size).\n",
            rows.join(", ")
        )?;
    }
    print!("{md}");
    if !args.no_output {
        let name = args.section.clone().unwrap_or_else(|| {
            if args.target.embedded {
                "embedded"
            } else {
                "postgres-redis"
            }
            .to_owned()
        });
        write_section(&args.out, TITLE, &format!("history:{name}"), &md)?;
        println!("wrote {}", args.out.display());
    }
    Ok(())
}
