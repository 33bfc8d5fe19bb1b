//! Phase 4, interference: an open-loop query load alone, and while subscribers receive events.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::{Value, json};
use switchboard_bench::{gql, percentile};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    Args,
    clients::connect_waves,
    fanout::{collect, parse_seq},
    met,
    servers::Env,
};

/// The query of the interference runs: benchmark 1's contacts page (20 contacts, 8 fields).
pub(crate) const PAGE_QUERY: &str = "query Page { contacts(first: 20, sort: {field: CREATED_AT, direction: ASC}) { edges { node { id name email phoneNumber createdAt updatedAt blocked contactType } } } }";

/// Contacts the interference account holds (the page reads the first 20).
pub(crate) const INTERFERENCE_CONTACTS: usize = 40;

/// Latencies of an open-loop run and how many responses were wrong.
pub(crate) struct OpenLoop {
    pub(crate) latencies: Vec<f64>,
    pub(crate) errors: usize,
}

/// Sends the contacts page at a fixed `rate` for `secs`, each request on its own schedule
/// (open loop: a slow response does not delay the next request). Latency is measured from the
/// request's *scheduled* time, so queueing in the client counts too (no coordinated omission).
/// Every response is checked: status 200, no `errors`, 20 contacts.
pub(crate) async fn open_loop(
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
pub(crate) struct Interference {
    pub(crate) queries: OpenLoop,
    pub(crate) delivered: usize,
    pub(crate) expected: usize,
    pub(crate) delivery: Vec<f64>,
    pub(crate) failed: usize,
}

pub(crate) async fn interference(
    env: &Env,
    loaded: bool,
    args: &Args,
    label: &str,
) -> Result<Interference> {
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

/// The interference phase: rounds of the query load alone and loaded, their table and verdict in
/// `report`, their rows for the JSON results.
pub(crate) async fn phase(env: &Env, args: &Args, report: &mut String) -> Result<Vec<Value>> {
    let mut rows_json = Vec::new();
    let mut rows = String::new();
    let mut pooled: BTreeMap<bool, Vec<f64>> = BTreeMap::new();
    let subs = args.interference_subscribers;
    for round in 1..=args.rounds {
        for loaded in [false, true] {
            let label = format!(
                "interference-{round}-{}",
                if loaded { "loaded" } else { "alone" }
            );
            let r = interference(env, loaded, args, &label).await?;
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
            rows_json.push(json!({
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
    Ok(rows_json)
}
