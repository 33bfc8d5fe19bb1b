//! Where presence lives: Redis (shared by every instance, entries expire on their own) or, for
//! the embedded default, this process's memory.
//!
//! Each open websocket is one entry, `u:<user id>:<connection id>` or `c:<contact id>:<…>`,
//! scored by its last heartbeat in a sorted set per account. A user or contact is online while
//! any of its entries is younger than [`WINDOW`]. A clean disconnect removes its entry at once;
//! a crashed instance's entries simply age out. The key itself expires when heartbeats stop.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::aio::ConnectionManager;

use crate::error::{AppError, AppResult};

/// How long a heartbeat keeps someone online (Chatwoot's presence window).
pub const WINDOW: Duration = Duration::from_secs(20);
/// How often an open connection refreshes its entry.
pub const HEARTBEAT: Duration = Duration::from_secs(8);

/// Whose presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    User(i64),
    Contact(i64),
}

impl Who {
    fn member(self, connection: &str) -> String {
        match self {
            Self::User(id) => format!("u:{id}:{connection}"),
            Self::Contact(id) => format!("c:{id}:{connection}"),
        }
    }

    fn parse(member: &str) -> Option<Self> {
        let mut parts = member.splitn(3, ':');
        let kind = parts.next()?;
        let id = parts.next()?.parse().ok()?;
        match kind {
            "u" => Some(Self::User(id)),
            "c" => Some(Self::Contact(id)),
            _ => None,
        }
    }
}

/// Who is online in an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Online {
    pub users: Vec<i64>,
    pub contacts: Vec<i64>,
}

impl Online {
    fn from_members<'a>(members: impl IntoIterator<Item = &'a str>) -> Self {
        let mut online = Self::default();
        for who in members.into_iter().filter_map(Who::parse) {
            match who {
                Who::User(id) => online.users.push(id),
                Who::Contact(id) => online.contacts.push(id),
            }
        }
        for ids in [&mut online.users, &mut online.contacts] {
            ids.sort_unstable();
            ids.dedup();
        }
        online
    }

    fn contains(&self, who: Who) -> bool {
        match who {
            Who::User(id) => self.users.contains(&id),
            Who::Contact(id) => self.contacts.contains(&id),
        }
    }
}

/// The presence backend.
pub enum PresenceStore {
    Memory(Mutex<HashMap<i64, HashMap<String, SystemTime>>>),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

fn millis(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64
}

#[allow(clippy::needless_pass_by_value)] // used as a `map_err` function
fn redis_err(err: redis::RedisError) -> AppError {
    AppError::Internal(anyhow::anyhow!("presence store: {err}"))
}

impl PresenceStore {
    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    pub fn redis(conn: ConnectionManager, prefix: &str) -> Self {
        Self::Redis {
            conn,
            prefix: prefix.to_owned(),
        }
    }

    fn key(prefix: &str, account_id: i64) -> String {
        format!("{prefix}:presence:{account_id}")
    }

    /// Everyone online in the account now.
    pub async fn online(&self, account_id: i64) -> AppResult<Online> {
        let now = SystemTime::now();
        match self {
            Self::Memory(accounts) => {
                let accounts = accounts
                    .lock()
                    .map_err(|_| AppError::Internal(anyhow::anyhow!("presence lock poisoned")))?;
                let Some(entries) = accounts.get(&account_id) else {
                    return Ok(Online::default());
                };
                let live = entries
                    .iter()
                    .filter(|(_, at)| now.duration_since(**at).unwrap_or_default() < WINDOW)
                    .map(|(member, _)| member.as_str());
                Ok(Online::from_members(live))
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let since = millis(now) - WINDOW.as_millis() as f64;
                let members: Vec<String> = redis::cmd("ZRANGE")
                    .arg(Self::key(prefix, account_id))
                    .arg(format!("({since}"))
                    .arg("+inf")
                    .arg("BYSCORE")
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_err)?;
                Ok(Online::from_members(members.iter().map(String::as_str)))
            }
        }
    }

    /// Records a heartbeat of one connection; returns whether `who` was offline before.
    pub async fn touch(&self, account_id: i64, who: Who, connection: &str) -> AppResult<bool> {
        let was_online = self.online(account_id).await?.contains(who);
        let now = SystemTime::now();
        match self {
            Self::Memory(accounts) => {
                let mut accounts = accounts
                    .lock()
                    .map_err(|_| AppError::Internal(anyhow::anyhow!("presence lock poisoned")))?;
                let entries = accounts.entry(account_id).or_default();
                entries.retain(|_, at| now.duration_since(*at).unwrap_or_default() < WINDOW);
                entries.insert(who.member(connection), now);
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let key = Self::key(prefix, account_id);
                let stale = millis(now) - WINDOW.as_millis() as f64;
                redis::pipe()
                    .atomic()
                    .cmd("ZREMRANGEBYSCORE")
                    .arg(&key)
                    .arg("-inf")
                    .arg(format!("({stale}"))
                    .ignore()
                    .cmd("ZADD")
                    .arg(&key)
                    .arg(millis(now))
                    .arg(who.member(connection))
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(WINDOW.as_millis() as u64 * 2)
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(redis_err)?;
            }
        }
        Ok(!was_online)
    }

    /// Removes one connection; returns whether `who` is now offline.
    pub async fn leave(&self, account_id: i64, who: Who, connection: &str) -> AppResult<bool> {
        match self {
            Self::Memory(accounts) => {
                let mut accounts = accounts
                    .lock()
                    .map_err(|_| AppError::Internal(anyhow::anyhow!("presence lock poisoned")))?;
                if let Some(entries) = accounts.get_mut(&account_id) {
                    entries.remove(&who.member(connection));
                }
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                redis::cmd("ZREM")
                    .arg(Self::key(prefix, account_id))
                    .arg(who.member(connection))
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(redis_err)?;
            }
        }
        Ok(!self.online(account_id).await?.contains(who))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_back() {
        let online = Online::from_members(["u:4:a", "u:4:b", "c:9:x", "junk", "u:x:1"]);
        assert_eq!(
            online,
            Online {
                users: vec![4],
                contacts: vec![9]
            }
        );
    }

    #[tokio::test]
    async fn memory_store_tracks_connections() {
        let store = PresenceStore::memory();
        assert!(store.touch(1, Who::User(4), "a").await.unwrap());
        assert!(!store.touch(1, Who::User(4), "b").await.unwrap());
        assert!(!store.leave(1, Who::User(4), "a").await.unwrap());
        assert_eq!(store.online(1).await.unwrap().users, vec![4]);
        assert!(store.leave(1, Who::User(4), "b").await.unwrap());
        assert_eq!(store.online(1).await.unwrap(), Online::default());
        assert_eq!(store.online(2).await.unwrap(), Online::default());
    }
}
