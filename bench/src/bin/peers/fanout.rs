//! Phase 3, fan-out: Switchboard's subscribers against raw Redis `SUBSCRIBE` connections.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::{Value, json};
use switchboard_bench::{gql, percentile, rss_kib};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::{Args, clients::connect_waves, servers::Env};

/// The sequence number after `bench-` in a frame or a Redis payload.
pub(crate) fn parse_seq(text: &str) -> Option<usize> {
    let rest = text.split("bench-").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

pub(crate) struct Fanout {
    pub(crate) latencies: Vec<f64>,
    pub(crate) lost: usize,
    pub(crate) failed: usize,
    pub(crate) per_second: f64,
    /// Server RSS growth per connected subscriber (Switchboard only).
    pub(crate) rss_per_subscriber_kib: Option<f64>,
}

/// Turns the readers' (seq, receive time) lists into latencies, losses and a delivery rate.
pub(crate) async fn collect(
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

pub(crate) async fn fanout_switchboard(
    env: &Env,
    n: usize,
    args: &Args,
    label: &str,
) -> Result<Fanout> {
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

pub(crate) async fn fanout_redis(n: usize, args: &Args, channel: &str) -> Result<Fanout> {
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

/// The fan-out phase: rounds of Switchboard and raw Redis at each subscriber count, their tables in
/// `report`, their rows for the JSON results.
pub(crate) async fn phase(env: &Env, args: &Args, report: &mut String) -> Result<Vec<Value>> {
    let mut rows_json = Vec::new();
    let mut rows = String::new();
    let mut pooled: BTreeMap<(usize, bool), Vec<f64>> = BTreeMap::new();
    let mut rates: BTreeMap<(usize, bool), Vec<f64>> = BTreeMap::new();
    for round in 1..=args.rounds {
        for &subs in &args.subscribers {
            for is_redis in [false, true] {
                let label = format!("fanout-{round}-{subs}");
                let f = if is_redis {
                    fanout_redis(subs, args, &format!("{}:raw:{round}:{subs}", env.sb.prefix))
                        .await?
                } else {
                    fanout_switchboard(env, subs, args, &label).await?
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
                rows_json.push(json!({
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
    Ok(rows_json)
}
