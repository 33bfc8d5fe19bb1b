//! Where presence lives: Redis (shared by every instance, entries expire on their own) or, for
//! the embedded default, this process's memory.
//!
//! Per account, a sorted set of who is connected (`u:<user id>` or `c:<contact id>`) scored by
//! their latest heartbeat, and per user or contact a sorted set of their open websockets scored
//! the same way. Someone is online while their score is younger than [`WINDOW`]. A heartbeat or a
//! disconnect touches only the sets of one user or contact (O(log n), one round trip, atomic in
//! a Lua script), so a connect storm of n clients costs n small writes, not n reads of an
//! account's whole presence; reading who is online (a snapshot) reads one entry per person, not
//! per tab. A clean disconnect removes its connection at once; a crashed instance's entries age
//! out; the keys expire when heartbeats stop.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{Script, aio::ConnectionManager};

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
    fn member(self) -> String {
        match self {
            Self::User(id) => format!("u:{id}"),
            Self::Contact(id) => format!("c:{id}"),
        }
    }

    fn parse(member: &str) -> Option<Self> {
        let (kind, id) = member.split_once(':')?;
        let id = id.parse().ok()?;
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
        Self::from_who(members.into_iter().filter_map(Who::parse))
    }

    fn from_who(who: impl IntoIterator<Item = Who>) -> Self {
        let mut online = Self::default();
        for who in who {
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
}

/// A heartbeat: KEYS = the account's set, the person's connections; ARGV = person, connection,
/// now (ms), oldest live score, key lifetime (ms). Returns 1 when the person was not online.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if previous and tonumber(previous) >= tonumber(ARGV[4]) then return 0 end
return 1
",
    )
});

/// A disconnect: KEYS as [`TOUCH`]; ARGV = person, connection, oldest live score. Returns 1
/// when the person has no live connection left (and is then removed from the account's set).
static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #newest == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[1], newest[2], ARGV[1])
return 0
",
    )
});

/// The connections of one account's people, with their latest heartbeats.
type Connections = HashMap<Who, HashMap<String, SystemTime>>;

/// The presence store.
pub enum PresenceStore {
    /// account id → person → connection id → last heartbeat.
    Memory(Mutex<HashMap<i64, Connections>>),
    /// Redis, on the command connection (not the pub/sub subscriber: Redis would hold large
    /// replies there against its pub/sub output limit).
    Redis {
        conn: ConnectionManager,
        prefix: String,
        /// Longest wait on Redis for one command (`REDIS_TIMEOUT_MS`): during an outage a
        /// heartbeat or snapshot fails after it instead of waiting out the reconnection.
        timeout: Duration,
    },
}

#[allow(clippy::cast_precision_loss)] // milliseconds since 1970 fit in an f64's 52 bits
fn millis(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64
}

#[allow(clippy::needless_pass_by_value)] // used as a `map_err` function
fn redis_err(err: redis::RedisError) -> AppError {
    AppError::from(anyhow::anyhow!("presence store: {err}"))
}

/// A Redis command bounded by `timeout`.
async fn within<T>(
    timeout: Duration,
    command: impl Future<Output = redis::RedisResult<T>>,
) -> AppResult<T> {
    tokio::time::timeout(timeout, command)
        .await
        .map_err(|_| {
            AppError::from(anyhow::anyhow!(
                "presence store: redis did not answer within {timeout:?}"
            ))
        })?
        .map_err(redis_err)
}

fn poisoned<T>(_: T) -> AppError {
    AppError::from(anyhow::anyhow!("presence lock poisoned"))
}

fn live(now: SystemTime, at: SystemTime) -> bool {
    now.duration_since(at).unwrap_or_default() < WINDOW
}

impl PresenceStore {
    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    pub fn redis(conn: ConnectionManager, prefix: &str, timeout: Duration) -> Self {
        Self::Redis {
            conn,
            prefix: prefix.to_owned(),
            timeout,
        }
    }

    fn key(prefix: &str, account_id: i64) -> String {
        format!("{prefix}:presence:{account_id}")
    }

    fn connections_key(prefix: &str, account_id: i64, who: Who) -> String {
        format!("{prefix}:presence:{account_id}:{}", who.member())
    }

    /// A call of a script on one connection: `KEYS` are the account's set and the person's
    /// connections, the first `ARGV` the person and the connection (TOUCH and LEAVE take the
    /// same; the caller adds the rest).
    fn call<'a>(
        script: &'a Script,
        prefix: &str,
        account_id: i64,
        who: Who,
        connection: &str,
    ) -> redis::ScriptInvocation<'a> {
        let mut call = script.key(Self::key(prefix, account_id));
        call.key(Self::connections_key(prefix, account_id, who))
            .arg(who.member())
            .arg(connection);
        call
    }

    /// Who is online in an account now.
    pub async fn online(&self, account_id: i64) -> AppResult<Online> {
        let now = SystemTime::now();
        match self {
            Self::Memory(accounts) => {
                let accounts = accounts.lock().map_err(poisoned)?;
                let Some(people) = accounts.get(&account_id) else {
                    return Ok(Online::default());
                };
                Ok(Online::from_who(people.iter().filter_map(
                    |(who, connections)| {
                        connections
                            .values()
                            .any(|at| live(now, *at))
                            .then_some(*who)
                    },
                )))
            }
            Self::Redis {
                conn,
                prefix,
                timeout,
            } => {
                let mut conn = conn.clone();
                let since = millis(now) - WINDOW.as_secs_f64() * 1000.0;
                let members: Vec<String> = within(
                    *timeout,
                    redis::cmd("ZRANGE")
                        .arg(Self::key(prefix, account_id))
                        .arg(since)
                        .arg("+inf")
                        .arg("BYSCORE")
                        .query_async(&mut conn),
                )
                .await?;
                Ok(Online::from_members(members.iter().map(String::as_str)))
            }
        }
    }

    /// Records a heartbeat of one connection; true when its person was not online before.
    pub async fn touch(&self, account_id: i64, who: Who, connection: &str) -> AppResult<bool> {
        let now = SystemTime::now();
        match self {
            Self::Memory(accounts) => {
                let mut accounts = accounts.lock().map_err(poisoned)?;
                let people = accounts.entry(account_id).or_default();
                let connections = people.entry(who).or_default();
                let was_online = connections.values().any(|at| live(now, *at));
                connections.retain(|_, at| live(now, *at));
                connections.insert(connection.to_owned(), now);
                Ok(!was_online)
            }
            Self::Redis {
                conn,
                prefix,
                timeout,
            } => {
                let mut conn = conn.clone();
                let now = millis(now);
                let window = WINDOW.as_secs_f64() * 1000.0;
                let came_online: i64 = within(
                    *timeout,
                    Self::call(&TOUCH, prefix, account_id, who, connection)
                        .arg(now)
                        .arg(now - window)
                        .arg(u64::try_from(WINDOW.as_millis() * 2).unwrap_or(u64::MAX))
                        .invoke_async(&mut conn),
                )
                .await?;
                Ok(came_online == 1)
            }
        }
    }

    /// Removes a closed connection; true when its person has no live connection left.
    pub async fn leave(&self, account_id: i64, who: Who, connection: &str) -> AppResult<bool> {
        let now = SystemTime::now();
        match self {
            Self::Memory(accounts) => {
                let mut accounts = accounts.lock().map_err(poisoned)?;
                let Some(people) = accounts.get_mut(&account_id) else {
                    return Ok(true);
                };
                let Some(connections) = people.get_mut(&who) else {
                    return Ok(true);
                };
                connections.remove(connection);
                connections.retain(|_, at| live(now, *at));
                let gone = connections.is_empty();
                if gone {
                    people.remove(&who);
                }
                if people.is_empty() {
                    accounts.remove(&account_id);
                }
                Ok(gone)
            }
            Self::Redis {
                conn,
                prefix,
                timeout,
            } => {
                let mut conn = conn.clone();
                let since = millis(now) - WINDOW.as_secs_f64() * 1000.0;
                let gone: i64 = within(
                    *timeout,
                    Self::call(&LEAVE, prefix, account_id, who, connection)
                        .arg(since)
                        .invoke_async(&mut conn),
                )
                .await?;
                Ok(gone == 1)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_back() {
        let online = Online::from_members(["u:4", "u:4", "c:9", "junk", "u:x", "x:1"]);
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
        assert!(store.touch(1, Who::Contact(4), "c").await.unwrap());
        assert!(!store.leave(1, Who::User(4), "a").await.unwrap());
        assert_eq!(
            store.online(1).await.unwrap(),
            Online {
                users: vec![4],
                contacts: vec![4]
            }
        );
        assert!(store.leave(1, Who::User(4), "b").await.unwrap());
        assert!(store.leave(1, Who::Contact(4), "c").await.unwrap());
        assert_eq!(store.online(1).await.unwrap(), Online::default());
        assert_eq!(store.online(2).await.unwrap(), Online::default());
    }
}
