//! The bus over Redis (docs/design.md §3): each account's history is a Redis stream appended to
//! and published by one Lua script (`events/scripts.rs`), every instance receives the events
//! on one pub/sub channel through its single subscriber connection, and a publisher task per
//! process drains the publish queue — into Redis while it answers, into the outbox
//! (`events/outbox.rs`) while it does not.

use std::{sync::Arc, time::Duration};

use redis::{
    AsyncCommands, PushKind, Script, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{
    Event, HistoryError, HistorySettings, Page, Position, Stamped, outbox::Drained, outbox::Outbox,
    scripts,
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
/// Longer than any history TTL: the epoch and head of an account outlive its events, so that a
/// client of an account that was quiet for a while resumes without a gap error.
const META_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Below this length, streams are trimmed exactly (`MAXLEN =`); above, by whole nodes
/// (`MAXLEN ~`, cheaper, keeps a few more).
const EXACT_TRIM_BELOW: usize = 1000;

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

/// The accounts' histories in Redis, read and appended through the command connection.
#[derive(Clone)]
pub struct RedisLog {
    conn: ConnectionManager,
    prefix: Arc<str>,
    channel: Arc<str>,
    history: HistorySettings,
    timeout: Duration,
    publish: Arc<Script>,
    head: Arc<Script>,
    read: Arc<Script>,
}

impl RedisLog {
    fn keys(&self, account_id: i64) -> (String, String) {
        let prefix = &self.prefix;
        (
            format!("{prefix}:{{a{account_id}}}:meta"),
            format!("{prefix}:{{a{account_id}}}:log"),
        )
    }

    /// Appends and publishes a retained event, or publishes another one; bounded by the timeout.
    async fn publish(&self, event: &Event) -> Result<(), String> {
        let payload = serde_json::to_string(event).map_err(|err| err.to_string())?;
        let mut conn = self.conn.clone();
        let sent = if event.payload.is_retained() {
            let (meta, log) = self.keys(event.account_id);
            let ttl_ms = self.history.ttl.as_millis().max(1);
            let trim = if self.history.length < EXACT_TRIM_BELOW {
                "="
            } else {
                "~"
            };
            let mut call = self.publish.prepare_invoke();
            call.key(meta)
                .key(log)
                .arg(payload)
                .arg(self.history.length)
                .arg(ttl_ms.to_string())
                .arg(META_TTL.as_millis().max(ttl_ms).to_string())
                .arg(&*self.channel)
                .arg(event.account_id)
                .arg(trim);
            tokio::time::timeout(self.timeout, call.invoke_async::<String>(&mut conn))
                .await
                .map(|result| result.map(drop))
        } else {
            tokio::time::timeout(
                self.timeout,
                conn.publish::<_, _, ()>(&*self.channel, payload),
            )
            .await
        };
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }

    /// The account's latest position (starting its epoch if it has none).
    pub async fn head(&self, account_id: i64) -> Result<Position, HistoryError> {
        let (meta, log) = self.keys(account_id);
        let mut conn = self.conn.clone();
        let mut call = self.head.prepare_invoke();
        call.key(meta)
            .key(log)
            .arg(META_TTL.as_millis().to_string());
        let reply = tokio::time::timeout(self.timeout, call.invoke_async::<Vec<String>>(&mut conn))
            .await
            .map_err(|_| HistoryError::Unavailable)?
            .map_err(|err| {
                tracing::warn!(error = %err, "reading an event history's head failed");
                HistoryError::Unavailable
            })?;
        match reply.as_slice() {
            [epoch, offset] => Ok(Position {
                account_id,
                epoch: Arc::from(epoch.as_str()),
                offset: offset.parse().map_err(|_| HistoryError::Unavailable)?,
            }),
            _ => Err(HistoryError::Unavailable),
        }
    }

    /// Up to `limit` events after `after`.
    pub async fn read(&self, after: &Position, limit: usize) -> Result<Page, HistoryError> {
        let (meta, log) = self.keys(after.account_id);
        let mut conn = self.conn.clone();
        let mut call = self.read.prepare_invoke();
        call.key(meta)
            .key(log)
            .arg(&*after.epoch)
            .arg(after.offset)
            .arg(limit);
        let reply = tokio::time::timeout(self.timeout, call.invoke_async::<Vec<String>>(&mut conn))
            .await
            .map_err(|_| HistoryError::Unavailable)?
            .map_err(|err| {
                tracing::warn!(error = %err, "reading an event history failed");
                HistoryError::Unavailable
            })?;
        let mut reply = reply.into_iter();
        match reply.next().as_deref() {
            Some("ok") => {}
            Some("expired") => return Err(HistoryError::Expired),
            Some("unknown") => return Err(HistoryError::Unknown),
            _ => return Err(HistoryError::Unavailable),
        }
        let head: u64 = reply
            .next()
            .and_then(|head| head.parse().ok())
            .ok_or(HistoryError::Unavailable)?;
        let mut events = Vec::new();
        while let (Some(offset), Some(json)) = (reply.next(), reply.next()) {
            let offset: u64 = offset.parse().map_err(|_| HistoryError::Unavailable)?;
            let event: Event = serde_json::from_str(&json).map_err(|err| {
                tracing::error!(error = %err, "undecodable event in the history");
                HistoryError::Unavailable
            })?;
            events.push(Arc::new(Stamped {
                position: Some(after.at(offset)),
                event,
            }));
        }
        Ok(Page {
            head: after.at(head),
            events,
        })
    }

    /// Whether Redis answers a PING within the timeout.
    pub async fn is_ready(&self) -> bool {
        ping(&self.conn, self.timeout).await
    }
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
    let log = RedisLog {
        conn: commands,
        prefix: Arc::from(prefix),
        channel: channel.clone(),
        history,
        timeout: settings.timeout,
        publish: Arc::new(Script::new(scripts::PUBLISH)),
        head: Arc::new(Script::new(scripts::HEAD)),
        read: Arc::new(Script::new(scripts::READ)),
    };
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
    // Rows left by an earlier run (or a dead instance) go first.
    let mut spilling = true;
    let mut next_drain = tokio::time::Instant::now();
    loop {
        let event = tokio::select! {
            event = queued.recv() => match event { Some(event) => event, None => return },
            () = tokio::time::sleep_until(next_drain) => {
                spilling = match outbox.drain(|event| { let log = log.clone(); async move {
                    log.publish(&event).await.is_ok()
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
        // Presence and access events are not history: when Redis cannot take them, this
        // instance's subscribers get them at once (presence is re-read on reconnect anyway).
        if !event.payload.is_retained() {
            let published = if spilling {
                Err("redis is failing".to_owned())
            } else {
                log.publish(&event).await
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
            match log.publish(&event).await {
                Ok(()) => continue,
                Err(error) => {
                    warn(&error);
                    spilling = true;
                    next_drain = tokio::time::Instant::now() + DRAIN_RETRY;
                }
            }
        }
        if let Err(err) = outbox.push(&event).await {
            // Neither Redis nor the database took it: the one way an event is lost.
            tracing::error!(error = %err, account_id = event.account_id, "event lost: the outbox refused it");
        }
    }
}

fn warn(error: &str) {
    if let Some(suppressed) = PUBLISH_WARNINGS.allow() {
        tracing::warn!(%error, suppressed, "redis publish failed; events wait in the outbox");
    }
}

/// Whether Redis answers a PING on `conn` within `timeout`.
async fn ping(conn: &ConnectionManager, timeout: Duration) -> bool {
    let mut conn = conn.clone();
    matches!(
        tokio::time::timeout(timeout, redis::cmd("PING").query_async::<String>(&mut conn)).await,
        Ok(Ok(_))
    )
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
