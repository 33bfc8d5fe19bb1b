//! The event bus: events are published after their transaction commits and fanned out to the
//! subscriptions of this process.
//!
//! Without Redis the bus is a `tokio::sync::broadcast` channel. With Redis every event is
//! `PUBLISH`ed to one channel and comes back through this process's single subscriber
//! connection, so every instance (this one included) sees each event exactly once, in the same
//! order. The subscriber uses RESP3 push messages on a `ConnectionManager`, which reconnects and
//! resubscribes by itself after a Redis restart (a bare pub/sub stream would just end).
//!
//! Delivery is at most once: events published while Redis is unreachable are lost, and a local
//! subscriber that falls more than [`LOCAL_BUFFER`] events behind skips the ones it missed (the
//! stream logs the gap and carries on). Clients should refetch after reconnecting.
//!
//! Publishing never makes a request wait on Redis: [`EventBus::publish`] puts the event on a
//! bounded queue (`PUBLISH_QUEUE_LENGTH`) that one background task per process drains in order
//! (the one seam where events leave the process; an outbox would replace the queue here). A
//! publish that fails or takes longer than `REDIS_TIMEOUT_MS` delivers the event to this
//! instance's subscribers only, and for [`PUBLISH_RETRY`] afterwards the task does not try
//! Redis, so an outage costs each event nothing; when the queue is full, the event is delivered
//! locally at once (ahead of the queued ones) and counted. Every other Redis command (presence,
//! readiness) is bounded by the same timeout.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use redis::{
    AsyncCommands, PushKind, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::telemetry::{Metrics, Throttle};

/// How many events a local subscriber may fall behind before it skips.
pub const LOCAL_BUFFER: usize = 4096;
/// After a failed publish, how long events go to local subscribers only before Redis is tried
/// again (an outage then costs one timeout per this interval, not one per event).
pub const PUBLISH_RETRY: Duration = Duration::from_millis(500);
/// Longest wait between two attempts to reconnect to Redis. Short, so that readiness and
/// events come back within about a second of Redis returning (an attempt on a closed port
/// costs a refused connection, nothing more).
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(250);

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

/// An event of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub account_id: i64,
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPayload {
    /// Someone's presence or availability in the account changed: recompute the snapshot.
    PresenceChanged,
    /// A user's membership of the account changed (removed, role changed): their open
    /// websockets re-check access at once (`auth::access`).
    AccessChanged { user_id: i64 },
    /// A contact was created, updated, merged or deleted.
    ContactChanged {
        kind: ContactChange,
        contact_id: i64,
    },
    /// A message was created. Carries the row so that subscribers need no query to send it.
    MessageCreated {
        message: Box<entity::message::Model>,
        /// The conversation's contact (decides whether the contact may receive it).
        contact_id: i64,
    },
    /// A message was changed.
    MessageUpdated {
        message: Box<entity::message::Model>,
        contact_id: i64,
    },
    /// A conversation was created.
    ConversationCreated {
        conversation: Box<entity::conversation::Model>,
    },
    /// A conversation's status changed.
    ConversationStatusChanged {
        conversation: Box<entity::conversation::Model>,
    },
    /// A conversation changed: assignee, labels, status or contact.
    ConversationUpdated {
        conversation: Box<entity::conversation::Model>,
        change: ConversationChange,
    },
    /// Someone started or stopped typing in a conversation.
    Typing {
        conversation_id: i64,
        contact_id: i64,
        typing: bool,
        /// A private note being typed: never shown to the contact.
        private: bool,
        sender: Sender,
    },
    /// A CSV import started, progressed a batch, or ended. Carries the row.
    DataImportProgress {
        data_import: Box<entity::data_import::Model>,
    },
}

/// What happened to a contact. Plain data, so the bus depends on no domain; the contacts
/// domain maps it to its GraphQL enum (`contacts/types.rs`). The variant names are the wire
/// format between instances, so they stay as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactChange {
    /// The contact was created.
    Created,
    /// The contact was changed.
    Updated,
    /// Another contact was merged into it.
    Merged,
    /// The contact was deleted.
    Deleted,
}

/// What changed in a conversation (Chatwoot's event names differ per change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationChange {
    /// `assignee.changed`
    Assignee,
    /// `conversation.updated` (labels)
    Labels,
    /// `conversation.updated` (status)
    Status,
    /// `conversation.contact_changed` (moved by a merge)
    Contact,
}

/// Who did something: a member or a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Sender {
    User(i64),
    Contact(i64),
}

/// Publishes events and hands out subscriptions to them.
#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Arc<Event>>,
    redis: Option<RedisBus>,
    metrics: Arc<Metrics>,
}

#[derive(Clone)]
struct RedisBus {
    conn: ConnectionManager,
    /// Events on their way to the publisher task.
    queue: mpsc::Sender<Arc<Event>>,
    timeout: Duration,
}

impl EventBus {
    /// A bus inside this process only.
    pub fn in_process(metrics: Arc<Metrics>) -> Self {
        let (local, _) = broadcast::channel(LOCAL_BUFFER);
        Self {
            local,
            redis: None,
            metrics,
        }
    }

    /// A bus over Redis pub/sub, with this process's one subscriber connection.
    pub async fn redis(
        conn: ConnectionManager,
        mut pushes: mpsc::UnboundedReceiver<redis::PushInfo>,
        prefix: &str,
        settings: RedisSettings,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let channel = format!("{prefix}:events");
        let mut bus = Self::in_process(metrics);
        let mut subscriber = conn.clone();
        subscriber.subscribe(&channel).await?;
        let (queue, queued) = mpsc::channel(settings.queue.max(1));
        tokio::spawn(publisher(
            Publisher {
                conn: conn.clone(),
                channel,
                local: bus.local.clone(),
                timeout: settings.timeout,
            },
            queued,
        ));
        bus.redis = Some(RedisBus {
            conn: conn.clone(),
            queue,
            timeout: settings.timeout,
        });

        let local = bus.local.clone();
        let metrics = bus.metrics.clone();
        tokio::spawn(async move {
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
                        tokio::spawn(reconnect(conn.clone(), settings.timeout, shutdown.clone()));
                    }
                    _ => {}
                }
            }
        });
        Ok(bus)
    }

    /// Publishes an event. Call it only after the transaction that caused it has committed.
    /// Never waits on Redis (see the module documentation for what happens when it is down).
    pub async fn publish(&self, event: Event) {
        self.metrics.events_published.inc();
        let event = Arc::new(event);
        let Some(redis) = &self.redis else {
            // No local subscriber is not an error.
            let _ = self.local.send(event);
            return;
        };
        match redis.queue.try_send(event) {
            Ok(()) => {}
            Err(
                mpsc::error::TrySendError::Full(event) | mpsc::error::TrySendError::Closed(event),
            ) => {
                if let Some(suppressed) = PUBLISH_WARNINGS.allow() {
                    tracing::warn!(
                        suppressed,
                        "the redis publish queue is full; delivering events locally"
                    );
                }
                let _ = self.local.send(event);
            }
        }
    }

    /// A receiver of every event this process sees, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }

    /// Whether the bus's backend answers within `REDIS_TIMEOUT_MS` (always true in process).
    pub async fn is_ready(&self) -> bool {
        match &self.redis {
            None => true,
            Some(redis) => ping(&redis.conn, redis.timeout).await,
        }
    }
}

/// What the publisher task needs.
struct Publisher {
    conn: ConnectionManager,
    channel: String,
    /// This instance's subscribers, who get an event Redis did not take.
    local: broadcast::Sender<Arc<Event>>,
    timeout: Duration,
}

/// Drains the publish queue in order until every sender is gone (the bus dropped).
async fn publisher(publisher: Publisher, mut queued: mpsc::Receiver<Arc<Event>>) {
    // While set and in the future, Redis is not tried: it just failed.
    let mut resting_until: Option<Instant> = None;
    while let Some(event) = queued.recv().await {
        if resting_until.is_some_and(|until| Instant::now() < until) {
            let _ = publisher.local.send(event);
            continue;
        }
        let payload = match serde_json::to_string(&*event) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "event serialisation failed");
                let _ = publisher.local.send(event);
                continue;
            }
        };
        let mut conn = publisher.conn.clone();
        let sent = tokio::time::timeout(
            publisher.timeout,
            conn.publish::<_, _, ()>(&publisher.channel, payload),
        )
        .await;
        match sent {
            Ok(Ok(())) => {
                if resting_until.take().is_some() {
                    tracing::info!("redis publishing resumed");
                }
            }
            // Degrade to this instance's subscribers rather than drop the event. (A publish
            // that timed out may still reach Redis later; local subscribers then see it twice.)
            failed => {
                if resting_until.is_none()
                    && let Some(suppressed) = PUBLISH_WARNINGS.allow()
                {
                    let error = match failed {
                        Ok(Err(err)) => err.to_string(),
                        _ => format!("no answer within {:?}", publisher.timeout),
                    };
                    tracing::warn!(%error, suppressed, "redis publish failed; delivering locally");
                }
                resting_until = Some(Instant::now() + PUBLISH_RETRY);
                let _ = publisher.local.send(event);
            }
        }
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

fn decode_message(data: &[Value]) -> Option<Event> {
    let Some(Value::BulkString(payload)) = data.get(1) else {
        return None;
    };
    serde_json::from_slice(payload)
        .inspect_err(|err| tracing::warn!(error = %err, "undecodable event on the bus"))
        .ok()
}

/// Nudges the connection manager until it has reconnected (it reconnects on a failed command
/// and then resubscribes by itself).
async fn reconnect(conn: ConnectionManager, timeout: Duration, shutdown: CancellationToken) {
    let mut delay = Duration::from_millis(50);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        if ping(&conn, timeout).await {
            tracing::info!("redis connection restored");
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

/// Opens the connection manager for commands (presence, readiness). Not the subscriber's
/// connection: Redis counts every reply on a subscribed connection against its pub/sub output
/// limit (32 MiB by default, `client-output-buffer-limit pubsub`), and disconnects it when
/// replies pile up there — which read presence sets of thousands of people did.
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

    #[test]
    fn events_round_trip_as_json() {
        let event = Event {
            account_id: 4,
            payload: EventPayload::PresenceChanged,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(json, r#"{"account_id":4,"type":"presence_changed"}"#);
        let data = vec![
            Value::BulkString(b"ch".to_vec()),
            Value::BulkString(json.into_bytes()),
        ];
        assert_eq!(decode_message(&data), Some(event));
    }

    #[tokio::test]
    async fn in_process_bus_delivers_to_subscribers() {
        let bus = EventBus::in_process(Metrics::new());
        let mut rx = bus.subscribe();
        bus.publish(Event {
            account_id: 1,
            payload: EventPayload::PresenceChanged,
        })
        .await;
        assert_eq!(rx.recv().await.unwrap().account_id, 1);
    }
}
