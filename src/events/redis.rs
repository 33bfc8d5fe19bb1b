//! The bus over Redis (docs/design.md §3): every instance receives the events on one pub/sub
//! channel through its single subscriber connection, and a publisher task per process drains
//! the publish queue — into the accounts' histories (`events/redis_log.rs`) while Redis
//! answers, into the outbox (`events/outbox.rs`) while it does not.

use std::{sync::Arc, time::Duration};

use redis::{
    PushKind, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{
    Event, HistorySettings, Position, Stamped,
    outbox::{Drained, Outbox},
    redis_log::{RedisLog, ping},
};
use crate::telemetry::{Metrics, Throttle};

/// Longest wait between two attempts to reconnect to Redis. Short, so that readiness and
/// events come back within about a second of Redis returning (an attempt on a closed port
/// costs a refused connection, nothing more).
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(250);
/// While events wait in the outbox, how often the publisher tries Redis again.
const DRAIN_RETRY: Duration = Duration::from_millis(250);
/// How often an instance with nothing of its own in the outbox looks for rows another instance
/// left there (it died before draining them).
const ORPHAN_CHECK: Duration = Duration::from_secs(5);
/// Warnings of the publisher, at most one per interval.
static PUBLISH_WARNINGS: Throttle = Throttle::new(Duration::from_secs(10));

/// How this process talks to Redis.
#[derive(Debug, Clone, Copy)]
pub struct RedisSettings {
    /// Longest wait for a connection or an answer (`REDIS_TIMEOUT_MS`).
    pub timeout: Duration,
    /// Events waiting to be published (`PUBLISH_QUEUE_LENGTH`).
    pub queue: usize,
}

/// An event as it arrives on the channel: positioned by the publish script, or not retained.
#[derive(Deserialize)]
struct Wire {
    position: Option<String>,
    #[serde(flatten)]
    event: Event,
}

/// What [`start`] hands the bus.
pub struct Started {
    pub log: RedisLog,
    pub queue: mpsc::Sender<Event>,
}

/// Subscribes this process to the events channel, starts the publisher task, and returns the
/// history and the publish queue.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    subscriber: ConnectionManager,
    commands: ConnectionManager,
    pushes: mpsc::UnboundedReceiver<redis::PushInfo>,
    prefix: &str,
    settings: RedisSettings,
    history: HistorySettings,
    outbox: Outbox,
    local: broadcast::Sender<Arc<Stamped>>,
    resync: Arc<watch::Sender<u64>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<Started> {
    let channel: Arc<str> = Arc::from(format!("{prefix}:events"));
    let log = RedisLog::new(commands, prefix, channel.clone(), history, settings.timeout);
    subscriber.clone().subscribe(&*channel).await?;
    let (queue, queued) = mpsc::channel(settings.queue.max(1));
    tokio::spawn(publisher(log.clone(), outbox, local.clone(), queued));
    tokio::spawn(receive(
        subscriber,
        pushes,
        local,
        resync,
        metrics,
        settings.timeout,
        shutdown,
    ));
    Ok(Started { log, queue })
}

/// Hands every event of the channel to this process's subscribers, and nudges a reconnect when
/// the subscriber connection drops.
async fn receive(
    conn: ConnectionManager,
    mut pushes: mpsc::UnboundedReceiver<redis::PushInfo>,
    local: broadcast::Sender<Arc<Stamped>>,
    resync: Arc<watch::Sender<u64>>,
    metrics: Arc<Metrics>,
    timeout: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let push = tokio::select! {
            () = shutdown.cancelled() => break,
            push = pushes.recv() => match push { Some(push) => push, None => break },
        };
        match push.kind {
            PushKind::Message => {
                if let Some(event) = decode_message(&push.data) {
                    metrics.events_received.inc();
                    // No local subscriber is not an error.
                    let _ = local.send(Arc::new(event));
                }
            }
            PushKind::Disconnection => {
                tracing::warn!("redis connection lost; reconnecting");
                tokio::spawn(reconnect(
                    conn.clone(),
                    timeout,
                    resync.clone(),
                    shutdown.clone(),
                ));
            }
            _ => {}
        }
    }
}

/// Drains the publish queue in order until every sender is gone (the bus dropped): into Redis
/// while it answers, into the outbox from the first failure until a drain empties it.
async fn publisher(
    log: RedisLog,
    outbox: Outbox,
    local: broadcast::Sender<Arc<Stamped>>,
    mut queued: mpsc::Receiver<Event>,
) {
    let mut ids = PublishIds::new();
    // Rows left by an earlier run (or a dead instance) go first.
    let mut spilling = true;
    let mut next_drain = tokio::time::Instant::now();
    loop {
        let event = tokio::select! {
            event = queued.recv() => match event { Some(event) => event, None => return },
            () = tokio::time::sleep_until(next_drain) => {
                spilling = match outbox.drain(|event, publish_id| { let log = log.clone(); async move {
                    log.publish(&event, &publish_id).await.is_ok()
                }}).await {
                    Ok(Drained::Empty) => {
                        if spilling { tracing::info!("event outbox drained; publishing directly"); }
                        false
                    }
                    Ok(Drained::Pending) => true,
                    Err(err) => {
                        tracing::warn!(error = %err, "draining the event outbox failed");
                        spilling
                    }
                };
                next_drain = tokio::time::Instant::now() + if spilling { DRAIN_RETRY } else { ORPHAN_CHECK };
                continue;
            }
        };
        // Given before the first attempt, kept with the event in the outbox: however often it
        // is tried, the event gets one position.
        let publish_id = ids.next();
        // Presence and access events are not history: when Redis cannot take them, this
        // instance's subscribers get them at once (presence is re-read on reconnect anyway).
        if !event.payload.is_retained() {
            let published = if spilling {
                Err("redis is failing".to_owned())
            } else {
                log.publish(&event, &publish_id).await
            };
            if let Err(error) = published {
                warn(&error);
                let _ = local.send(Arc::new(Stamped {
                    position: None,
                    event,
                }));
            }
            continue;
        }
        if !spilling {
            match log.publish(&event, &publish_id).await {
                Ok(()) => continue,
                Err(error) => {
                    warn(&error);
                    spilling = true;
                    next_drain = tokio::time::Instant::now() + DRAIN_RETRY;
                }
            }
        }
        let account_id = event.account_id;
        if let Err(err) = outbox.push(event, publish_id).await {
            // Neither Redis nor the database took it: the one way an event is lost.
            tracing::error!(error = %err, account_id, "event lost: the outbox refused it");
        }
    }
}

/// Publish ids of this process: a random instance part and a sequence, unique across instances
/// and restarts.
struct PublishIds {
    instance: String,
    next: u64,
}

impl PublishIds {
    fn new() -> Self {
        use std::hash::BuildHasher;
        // `RandomState` is seeded from the operating system's randomness per process.
        let seed = std::hash::RandomState::new().hash_one((
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos())
                .unwrap_or_default(),
        ));
        Self {
            instance: format!("{seed:016x}"),
            next: 0,
        }
    }

    fn next(&mut self) -> String {
        self.next += 1;
        format!("{}-{:x}", self.instance, self.next)
    }
}

fn warn(error: &str) {
    if let Some(suppressed) = PUBLISH_WARNINGS.allow() {
        tracing::warn!(%error, suppressed, "redis publish failed; events wait in the outbox");
    }
}

fn decode_message(data: &[Value]) -> Option<Stamped> {
    let Some(Value::BulkString(payload)) = data.get(1) else {
        return None;
    };
    let wire: Wire = serde_json::from_slice(payload)
        .inspect_err(|err| tracing::warn!(error = %err, "undecodable event on the bus"))
        .ok()?;
    let position = match wire.position {
        Some(text) => match Position::parse(&text, wire.event.account_id) {
            Ok(position) => Some(position),
            Err(_) => {
                tracing::warn!(position = %text, "an event with a malformed position on the bus");
                return None;
            }
        },
        None => None,
    };
    Some(Stamped {
        position,
        event: wire.event,
    })
}

/// Nudges the connection manager until it has reconnected (it reconnects on a failed command
/// and then resubscribes by itself), then tells every subscription to look for events it may
/// have missed meanwhile (`realtime::gate`).
async fn reconnect(
    conn: ConnectionManager,
    timeout: Duration,
    resync: Arc<watch::Sender<u64>>,
    shutdown: CancellationToken,
) {
    let mut delay = Duration::from_millis(50);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        if ping(&conn, timeout).await {
            tracing::info!("redis connection restored");
            resync.send_modify(|n| *n += 1);
            return;
        }
        delay = (delay * 2).min(RECONNECT_MAX_DELAY);
    }
}

/// Opens a RESP3 connection manager whose push messages (pub/sub) go to the returned receiver.
pub async fn connect_redis(
    url: &str,
    timeout: Duration,
) -> anyhow::Result<(ConnectionManager, mpsc::UnboundedReceiver<redis::PushInfo>)> {
    let url = if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    };
    let client = redis::Client::open(url)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let config = manager_config(timeout)
        .set_push_sender(tx)
        .set_automatic_resubscription();
    let conn = client.get_connection_manager_with_config(config).await?;
    Ok((conn, rx))
}

/// Opens the connection manager for commands (history, presence, readiness). Not the
/// subscriber's connection: Redis counts every reply on a subscribed connection against its
/// pub/sub output limit (32 MiB by default, `client-output-buffer-limit pubsub`), and
/// disconnects it when replies pile up there — which read presence sets of thousands of people
/// and history pages would do.
pub async fn connect_redis_commands(
    url: &str,
    timeout: Duration,
) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    Ok(client
        .get_connection_manager_with_config(manager_config(timeout))
        .await?)
}

/// Timeouts and reconnect back-off of both Redis connections. The manager's own timeouts
/// bound one attempt; a command issued while it reconnects waits for the whole reconnection
/// (retries with back-off), which is why callers also bound each command by `timeout`.
fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(RECONNECT_MAX_DELAY)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::events::EventPayload;

    #[test]
    fn decodes_positioned_and_plain_events() {
        let plain = r#"{"account_id":4,"type":"presence_changed"}"#;
        let data = vec![
            Value::BulkString(b"ch".to_vec()),
            Value::BulkString(plain.as_bytes().to_vec()),
        ];
        let event = decode_message(&data).unwrap();
        assert_eq!(event.position, None);
        assert_eq!(event.payload, EventPayload::PresenceChanged);
        // What the publish script sends: the position spliced in front.
        let positioned =
            r#"{"position":"4:18c0ffee00001:7","account_id":4,"type":"presence_changed"}"#;
        let data = vec![
            Value::BulkString(b"ch".to_vec()),
            Value::BulkString(positioned.as_bytes().to_vec()),
        ];
        assert_eq!(decode_message(&data).unwrap().position.unwrap().offset, 7);
        // A position naming another account is refused.
        let forged = r#"{"position":"5:ab:7","account_id":4,"type":"presence_changed"}"#;
        let data = vec![
            Value::BulkString(b"ch".to_vec()),
            Value::BulkString(forged.as_bytes().to_vec()),
        ];
        assert!(decode_message(&data).is_none());
    }
}
