//! A small per-process cache in front of the access check (`access::current`).
//!
//! Every request re-reads the caller's membership; this keeps the answer for at most
//! `ACCESS_CACHE_TTL_MS` (1 s by default) so a busy client costs one read per second, not one
//! per request. Entries of a user are dropped at once when their access changes: locally by the
//! mutation that changed it, on every other instance when its `AccessChanged` event arrives
//! (see `access::spawn_invalidator`). An event lost while Redis is down still expires within the
//! TTL, which therefore bounds how long a revoked token can keep working anywhere.
//!
//! A read that started before an invalidation must not put its (possibly stale) answer back:
//! every invalidation bumps an epoch, and an answer is stored only when the epoch it was read
//! under is still current.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use entity::enums::Role;

/// Whose access an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A user's membership of an account.
    User { account_id: i64, user_id: i64 },
    /// A contact's widget access to one of its contact inboxes.
    Contact {
        account_id: i64,
        contact_id: i64,
        contact_inbox_id: i64,
    },
}

/// What the database said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A member with this role.
    Member(Role),
    /// The contact inbox exists for that contact in that account.
    Contact,
    /// No such membership or contact inbox (any more).
    Gone,
}

/// The epoch a read started under (see [`AccessCache::ticket`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// Bounded, short-lived answers of the access check.
pub struct AccessCache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, (Access, Instant)>,
    epoch: u64,
}

impl AccessCache {
    /// A cache keeping answers for `ttl` and at most `capacity` entries; a zero of either
    /// turns caching off.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    /// A fresh answer, if there is one.
    pub fn get(&self, key: Key) -> Option<Access> {
        if !self.enabled() {
            return None;
        }
        let inner = self.inner.lock().ok()?;
        let (access, at) = inner.entries.get(&key)?;
        (at.elapsed() < self.ttl).then_some(*access)
    }

    /// Taken before reading the database; [`put`](Self::put) stores the answer only if no
    /// invalidation happened in between.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.inner.lock().map_or(u64::MAX, |inner| inner.epoch))
    }

    /// Stores an answer read under `ticket`. When full, expired entries are swept first; if it
    /// is still full the answer is simply not kept (the next request reads the database).
    pub fn put(&self, key: Key, access: Access, ticket: Ticket) {
        if !self.enabled() {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.epoch != ticket.0 {
            return;
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            let ttl = self.ttl;
            inner.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if inner.entries.len() >= self.capacity {
                return;
            }
        }
        inner.entries.insert(key, (access, Instant::now()));
    }

    /// Drops what is known about a user in an account.
    pub fn forget_user(&self, account_id: i64, user_id: i64) {
        self.invalidate(|key| {
            *key == Key::User {
                account_id,
                user_id,
            }
        });
    }

    /// Drops what is known about a contact (all its contact inboxes) in an account.
    pub fn forget_contact(&self, account_id: i64, contact_id: i64) {
        self.invalidate(|key| {
            matches!(key, Key::Contact { account_id: a, contact_id: c, .. }
                if *a == account_id && *c == contact_id)
        });
    }

    /// Drops everything (after missing events).
    pub fn clear(&self) {
        self.invalidate(|_| true);
    }

    fn invalidate(&self, matches: impl Fn(&Key) -> bool) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.epoch = inner.epoch.wrapping_add(1);
            inner.entries.retain(|key, _| !matches(key));
        }
    }

    /// How many answers are held (for tests).
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.entries.len())
    }

    /// Whether no answer is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ALICE: Key = Key::User {
        account_id: 1,
        user_id: 7,
    };
    const BOB: Key = Key::User {
        account_id: 1,
        user_id: 8,
    };

    fn cache(capacity: usize) -> AccessCache {
        AccessCache::new(Duration::from_secs(60), capacity)
    }

    #[test]
    fn keeps_answers_until_forgotten() {
        let cache = cache(10);
        cache.put(ALICE, Access::Member(Role::Agent), cache.ticket());
        cache.put(BOB, Access::Gone, cache.ticket());
        assert_eq!(cache.get(ALICE), Some(Access::Member(Role::Agent)));
        cache.forget_user(1, 7);
        assert_eq!(cache.get(ALICE), None);
        assert_eq!(cache.get(BOB), Some(Access::Gone));
    }

    #[test]
    fn a_read_overtaken_by_an_invalidation_is_not_stored() {
        let cache = cache(10);
        let ticket = cache.ticket();
        cache.forget_user(1, 7);
        cache.put(ALICE, Access::Member(Role::Administrator), ticket);
        assert_eq!(cache.get(ALICE), None);
    }

    #[test]
    fn expires_and_stays_bounded() {
        let expired = AccessCache::new(Duration::ZERO, 10);
        expired.put(ALICE, Access::Gone, expired.ticket());
        assert_eq!(expired.get(ALICE), None);

        let cache = cache(1);
        cache.put(ALICE, Access::Gone, cache.ticket());
        cache.put(BOB, Access::Gone, cache.ticket());
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(BOB), None);
    }

    #[test]
    fn forgets_every_inbox_of_a_contact() {
        let cache = cache(10);
        for contact_inbox_id in [1, 2] {
            let key = Key::Contact {
                account_id: 1,
                contact_id: 5,
                contact_inbox_id,
            };
            cache.put(key, Access::Contact, cache.ticket());
        }
        cache.forget_contact(1, 5);
        assert!(cache.is_empty());
    }
}
