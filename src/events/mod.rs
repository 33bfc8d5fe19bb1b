//! The event bus: events are published after their transaction commits, get a position in
//! their account's stream, are kept in a bounded history, and are fanned out to the
//! subscriptions of every instance (docs/design.md §3).
//!
//! Embedded default: the history and the fan-out live in this process (`events/local.rs`).
//! With Redis: a Lua script appends each event to its account's stream and publishes it on one
//! channel, which every instance reads through its single subscriber connection
//! (`events/redis.rs`); while Redis cannot take events they wait, in order, in the database's
//! outbox (`events/outbox.rs`), so nothing committed is lost.
//!
//! Publishing never makes a request wait on Redis: [`EventBus::publish`] puts the event on a
//! bounded queue (`PUBLISH_QUEUE_LENGTH`) that one task per process drains in order. Delivery
//! to a subscription, with replay from a position and recovery of what a slow subscriber
//! missed, is `realtime::gate`.
//!
//! Presence, access and typing events are not history: they carry no position, and when Redis
//! cannot take them they reach this instance's subscribers only.

pub mod local;
pub mod outbox;
pub mod position;
pub mod redis;
mod redis_log;
mod scripts;
mod types;

use std::{sync::Arc, time::Duration};

use tokio::sync::{broadcast, mpsc, watch};

use self::{local::LocalLog, redis_log::RedisLog};
pub use self::{
    position::Position,
    redis::{RedisSettings, connect_redis, connect_redis_commands},
    types::{ContactChange, ConversationChange, Event, EventPayload, Sender, Stamped},
};
use crate::telemetry::{Metrics, Throttle};

/// How many events a local subscriber may fall behind before it catches up from the history.
pub const LOCAL_BUFFER: usize = 4096;

/// Warnings about a full publish queue, at most one per interval.
static QUEUE_WARNINGS: Throttle = Throttle::new(Duration::from_secs(10));

/// How much history each account keeps (`EVENT_HISTORY_LENGTH`, `EVENT_HISTORY_TTL_SECS`).
#[derive(Debug, Clone, Copy)]
pub struct HistorySettings {
    /// Events kept per account (at least; Redis may keep a few more).
    pub length: usize,
    /// How long an event is kept.
    pub ttl: Duration,
}

/// Events of one account after a position.
#[derive(Debug)]
pub struct Page {
    /// The account's latest position when the page was read.
    pub head: Position,
    /// Oldest first, consecutive, starting right after the position asked for.
    pub events: Vec<Arc<Stamped>>,
}

impl Page {
    fn caught_up(head: Position) -> Self {
        Self {
            head,
            events: Vec::new(),
        }
    }
}

/// Why the history could not be read.
#[derive(Debug)]
pub enum HistoryError {
    /// Some event after the position is no longer kept, or the position is of another epoch.
    Expired,
    /// The position is beyond the account's latest (it was not given by this server).
    Unknown,
    /// Redis did not answer in time.
    Unavailable,
}

impl From<HistoryError> for crate::error::AppError {
    fn from(err: HistoryError) -> Self {
        match err {
            HistoryError::Expired => Self::HistoryExpired,
            HistoryError::Unknown => {
                Self::bad_input("after", "after: a position this server never gave")
            }
            HistoryError::Unavailable => Self::Unavailable("the event history"),
        }
    }
}

/// Publishes events and hands out subscriptions to them.
#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Arc<Stamped>>,
    backend: Backend,
    /// Bumped when events may have been missed without a gap showing (Redis reconnected).
    resync: Arc<watch::Sender<u64>>,
    metrics: Arc<Metrics>,
}

#[derive(Clone)]
enum Backend {
    InProcess(Arc<LocalLog>),
    Redis {
        log: RedisLog,
        /// Events on their way to the publisher task.
        queue: mpsc::Sender<Event>,
    },
}

impl EventBus {
    /// A bus inside this process only.
    pub fn in_process(history: HistorySettings, metrics: Arc<Metrics>) -> Self {
        let (local, _) = broadcast::channel(LOCAL_BUFFER);
        Self {
            local,
            backend: Backend::InProcess(Arc::new(LocalLog::new(history))),
            resync: Arc::new(watch::Sender::new(0)),
            metrics,
        }
    }

    /// A bus over Redis: `subscriber` receives the channel's events (its pushes arrive on
    /// `pushes`), `commands` reads and appends the histories, `outbox` keeps what Redis cannot
    /// take.
    #[allow(clippy::too_many_arguments)]
    pub async fn redis(
        subscriber: ::redis::aio::ConnectionManager,
        commands: ::redis::aio::ConnectionManager,
        pushes: mpsc::UnboundedReceiver<::redis::PushInfo>,
        prefix: &str,
        settings: RedisSettings,
        history: HistorySettings,
        outbox: outbox::Outbox,
        metrics: Arc<Metrics>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<Self> {
        let (local, _) = broadcast::channel(LOCAL_BUFFER);
        let resync = Arc::new(watch::Sender::new(0));
        let started = redis::start(
            subscriber,
            commands,
            pushes,
            prefix,
            settings,
            history,
            outbox,
            local.clone(),
            resync.clone(),
            metrics.clone(),
            shutdown,
        )
        .await?;
        Ok(Self {
            local,
            backend: Backend::Redis {
                log: started.log,
                queue: started.queue,
            },
            resync,
            metrics,
        })
    }

    /// Publishes an event. Call it only after the transaction that caused it has committed.
    /// Never waits on Redis (see the module documentation).
    pub async fn publish(&self, event: Event) {
        self.metrics.events_published.inc();
        match &self.backend {
            Backend::InProcess(log) => log.publish(event, &self.local),
            Backend::Redis { queue, .. } => match queue.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    // The publisher spends at most REDIS_TIMEOUT_MS on an event before it turns
                    // to the outbox, so the queue drains at database speed at worst: wait for
                    // room rather than drop or reorder the event.
                    if let Some(suppressed) = QUEUE_WARNINGS.allow() {
                        tracing::warn!(suppressed, "the event publish queue is full; waiting");
                    }
                    let _ = queue.send(event).await;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    tracing::error!("the event publisher has stopped; event dropped");
                }
            },
        }
    }

    /// Publishes `payload` as an event of the account: [`Self::publish`] of
    /// `Event { account_id, payload }`.
    pub async fn publish_to(&self, account_id: i64, payload: EventPayload) {
        self.publish(Event {
            account_id,
            payload,
        })
        .await;
    }

    /// A receiver of every event this process sees, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Stamped>> {
        self.local.subscribe()
    }

    /// Changes when subscriptions should look for events they may have missed.
    pub fn resyncs(&self) -> watch::Receiver<u64> {
        self.resync.subscribe()
    }

    /// The account's latest position.
    pub async fn head(&self, account_id: i64) -> Result<Position, HistoryError> {
        match &self.backend {
            Backend::InProcess(log) => Ok(log.head(account_id)),
            Backend::Redis { log, .. } => log.head(account_id).await,
        }
    }

    /// Up to `limit` events of the position's account after it.
    pub async fn read(&self, after: &Position, limit: usize) -> Result<Page, HistoryError> {
        match &self.backend {
            Backend::InProcess(log) => log.read(after, limit),
            Backend::Redis { log, .. } => log.read(after, limit).await,
        }
    }

    /// Drops the expired events of idle accounts once a minute until `shutdown` (the embedded
    /// history trims an account only when it publishes or is read; Redis expires its own).
    pub fn spawn_sweeper(&self, shutdown: tokio_util::sync::CancellationToken) {
        let Backend::InProcess(log) = &self.backend else {
            return;
        };
        let log = Arc::downgrade(log);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = every.tick() => match log.upgrade() {
                        Some(log) => log.sweep(),
                        None => return,
                    },
                }
            }
        });
    }

    /// Whether the bus's backend answers within `REDIS_TIMEOUT_MS` (always true in process).
    pub async fn is_ready(&self) -> bool {
        match &self.backend {
            Backend::InProcess(_) => true,
            Backend::Redis { log, .. } => log.is_ready().await,
        }
    }
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
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }

    #[tokio::test]
    async fn in_process_bus_positions_retained_events() {
        let history = HistorySettings {
            length: 10,
            ttl: Duration::from_secs(60),
        };
        let bus = EventBus::in_process(history, Metrics::new());
        let mut rx = bus.subscribe();
        bus.publish(Event {
            account_id: 1,
            payload: EventPayload::PresenceChanged,
        })
        .await;
        let presence = rx.recv().await.unwrap();
        assert_eq!(presence.account_id, 1);
        assert_eq!(presence.position, None);
        bus.publish(Event {
            account_id: 1,
            payload: EventPayload::ContactChanged {
                kind: ContactChange::Created,
                contact_id: 3,
            },
        })
        .await;
        let contact = rx.recv().await.unwrap();
        assert_eq!(contact.position.as_ref().unwrap().offset, 1);
        assert_eq!(bus.head(1).await.unwrap().offset, 1);
    }
}
