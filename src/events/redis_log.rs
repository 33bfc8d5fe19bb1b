//! The accounts' histories in Redis (docs/design.md §3): appending and publishing an event
//! (one Lua script, `events/scripts.rs`), reading the head and the events after a position.
//! Every call goes through the command connection and is bounded by `REDIS_TIMEOUT_MS`.

use std::{sync::Arc, time::Duration};

use redis::{AsyncCommands, Script, aio::ConnectionManager};

use super::{Event, HistoryError, HistorySettings, Page, Position, Stamped, scripts};

/// Longer than any history TTL: the epoch and head of an account outlive its events, so that a
/// client of an account that was quiet for a while resumes without a gap error.
const META_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Below this length, streams are trimmed exactly (`MAXLEN =`); above, by whole nodes
/// (`MAXLEN ~`, cheaper, keeps a few more).
const EXACT_TRIM_BELOW: usize = 1000;

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
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        channel: Arc<str>,
        history: HistorySettings,
        timeout: Duration,
    ) -> Self {
        Self {
            conn,
            prefix: Arc::from(prefix),
            channel,
            history,
            timeout,
            publish: Arc::new(Script::new(scripts::PUBLISH)),
            head: Arc::new(Script::new(scripts::HEAD)),
            read: Arc::new(Script::new(scripts::READ)),
        }
    }

    /// The key that remembers the position given to the event of `publish_id`.
    fn sent_key(&self, account_id: i64, publish_id: &str) -> String {
        format!("{}:{{a{account_id}}}:sent:{publish_id}", self.prefix)
    }

    fn keys(&self, account_id: i64) -> (String, String) {
        let prefix = &self.prefix;
        (
            format!("{prefix}:{{a{account_id}}}:meta"),
            format!("{prefix}:{{a{account_id}}}:log"),
        )
    }

    /// Appends and publishes a retained event, or publishes another one; bounded by the timeout.
    /// A retained event is published at most once per `publish_id` (`events/scripts.rs`), so
    /// trying again after an answer that never came is safe.
    pub async fn publish(&self, event: &Event, publish_id: &str) -> Result<(), String> {
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
                .key(self.sent_key(event.account_id, publish_id))
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

/// Whether Redis answers a PING on `conn` within `timeout`.
pub async fn ping(conn: &ConnectionManager, timeout: Duration) -> bool {
    let mut conn = conn.clone();
    matches!(
        tokio::time::timeout(timeout, redis::cmd("PING").query_async::<String>(&mut conn)).await,
        Ok(Ok(_))
    )
}
