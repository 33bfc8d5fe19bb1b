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

use std::{sync::Arc, time::Duration};

use redis::{
    AsyncCommands, PushKind, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::telemetry::Metrics;

/// How many events a local subscriber may fall behind before it skips.
pub const LOCAL_BUFFER: usize = 4096;

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
        kind: crate::contacts::types::ContactEventKind,
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
    channel: String,
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
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let channel = format!("{prefix}:events");
        let mut bus = Self::in_process(metrics);
        let mut subscriber = conn.clone();
        subscriber.subscribe(&channel).await?;
        bus.redis = Some(RedisBus {
            conn: conn.clone(),
            channel,
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
                        tokio::spawn(reconnect(conn.clone(), shutdown.clone()));
                    }
                    _ => {}
                }
            }
        });
        Ok(bus)
    }

    /// Publishes an event. Call it only after the transaction that caused it has committed.
    pub async fn publish(&self, event: Event) {
        self.metrics.events_published.inc();
        if let Some(redis) = &self.redis {
            match serde_json::to_string(&event) {
                Ok(payload) => {
                    let mut conn = redis.conn.clone();
                    match conn.publish::<_, _, ()>(&redis.channel, payload).await {
                        Ok(()) => return,
                        // Degrade to this instance's subscribers rather than drop the event.
                        Err(err) => {
                            tracing::warn!(error = %err, "redis publish failed; delivering locally");
                        }
                    }
                }
                Err(err) => tracing::error!(error = %err, "event serialisation failed"),
            }
        }
        let _ = self.local.send(Arc::new(event));
    }

    /// A receiver of every event this process sees, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }

    /// Whether the bus's backend answers (always true in process).
    pub async fn is_ready(&self) -> bool {
        match &self.redis {
            None => true,
            Some(redis) => {
                let mut conn = redis.conn.clone();
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            }
        }
    }
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
async fn reconnect(mut conn: ConnectionManager, shutdown: CancellationToken) {
    let mut delay = Duration::from_millis(100);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        if redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
        {
            tracing::info!("redis connection restored");
            return;
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Opens a RESP3 connection manager whose push messages (pub/sub) go to the returned receiver.
pub async fn connect_redis(
    url: &str,
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
    let config = manager_config()
        .set_push_sender(tx)
        .set_automatic_resubscription();
    let conn = client.get_connection_manager_with_config(config).await?;
    Ok((conn, rx))
}

/// Opens the connection manager for commands (presence, readiness). Not the subscriber's
/// connection: Redis counts every reply on a subscribed connection against its pub/sub output
/// limit (32 MiB by default, `client-output-buffer-limit pubsub`), and disconnects it when
/// replies pile up there — which read presence sets of thousands of people did.
pub async fn connect_redis_commands(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    Ok(client
        .get_connection_manager_with_config(manager_config())
        .await?)
}

/// Timeouts and reconnect back-off of both Redis connections.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(5)))
        .set_max_delay(Duration::from_secs(2))
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
