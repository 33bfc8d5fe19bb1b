//! The embedded default's history: each account's stream kept in this process's memory, with
//! the same semantics as the Redis one (`events/redis.rs`). The epoch is drawn at start, so a
//! restart — which loses the history — makes every earlier position expired, never misread.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use tokio::sync::broadcast;

use super::{Event, HistoryError, HistorySettings, Page, Position, Stamped};

/// Every account's retained events, and the fan-out they go to.
pub struct LocalLog {
    epoch: Arc<str>,
    settings: HistorySettings,
    accounts: Mutex<HashMap<i64, AccountLog>>,
}

#[derive(Default)]
struct AccountLog {
    /// The offset of the account's latest event (0 before the first).
    head: u64,
    /// Oldest first; offsets consecutive.
    entries: VecDeque<(Instant, Arc<Stamped>)>,
}

impl AccountLog {
    /// Drops what is beyond the length or older than the TTL.
    fn trim(&mut self, settings: &HistorySettings, now: Instant) {
        while self.entries.len() > settings.length {
            self.entries.pop_front();
        }
        while self
            .entries
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > settings.ttl)
        {
            self.entries.pop_front();
        }
    }
}

impl LocalLog {
    pub fn new(settings: HistorySettings) -> Self {
        Self {
            epoch: Arc::from(format!("{:016x}", rand::random::<u64>())),
            settings,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<i64, AccountLog>> {
        // Nothing under this lock can panic half-way through a change.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives a retained event the account's next position, keeps it, and fans it out — under one
    /// lock, so subscribers see offsets in order. Events outside the history are fanned out as
    /// they are.
    pub fn publish(&self, event: Event, local: &broadcast::Sender<Arc<Stamped>>) {
        if !event.payload.is_retained() {
            let _ = local.send(Arc::new(Stamped {
                position: None,
                event,
            }));
            return;
        }
        let now = Instant::now();
        let mut accounts = self.accounts();
        let log = accounts.entry(event.account_id).or_default();
        log.head += 1;
        let stamped = Arc::new(Stamped {
            position: Some(Position {
                account_id: event.account_id,
                epoch: self.epoch.clone(),
                offset: log.head,
            }),
            event,
        });
        log.entries.push_back((now, stamped.clone()));
        log.trim(&self.settings, now);
        // No local subscriber is not an error.
        let _ = local.send(stamped);
    }

    /// The account's latest position.
    pub fn head(&self, account_id: i64) -> Position {
        let offset = self.accounts().get(&account_id).map_or(0, |log| log.head);
        Position {
            account_id,
            epoch: self.epoch.clone(),
            offset,
        }
    }

    /// Up to `limit` events after `after`.
    pub fn read(&self, after: &Position, limit: usize) -> Result<Page, HistoryError> {
        if after.epoch != self.epoch {
            return Err(HistoryError::Expired);
        }
        let mut accounts = self.accounts();
        let Some(log) = accounts.get_mut(&after.account_id) else {
            return if after.offset == 0 {
                Ok(Page::caught_up(after.clone()))
            } else {
                Err(HistoryError::Unknown)
            };
        };
        log.trim(&self.settings, Instant::now());
        let head = after.at(log.head);
        if after.offset > log.head {
            return Err(HistoryError::Unknown);
        }
        if after.offset == log.head {
            return Ok(Page::caught_up(head));
        }
        // Offsets are consecutive, so the wanted entry's index follows from the first one's.
        let first = log
            .entries
            .front()
            .and_then(|(_, e)| e.position.as_ref())
            .map_or(u64::MAX, |p| p.offset);
        if first > after.offset + 1 {
            return Err(HistoryError::Expired);
        }
        let skip = usize::try_from(after.offset + 1 - first).unwrap_or(usize::MAX);
        let events = log
            .entries
            .iter()
            .skip(skip)
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect();
        Ok(Page { head, events })
    }

    /// Drops every account's expired events (run now and then, so idle accounts free theirs).
    pub fn sweep(&self) {
        let now = Instant::now();
        for log in self.accounts().values_mut() {
            log.trim(&self.settings, now);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::EventPayload;

    fn event(account_id: i64) -> Event {
        Event {
            account_id,
            payload: EventPayload::ContactChanged {
                kind: crate::events::ContactChange::Updated,
                contact_id: 1,
            },
        }
    }

    #[test]
    fn replays_what_it_keeps_and_refuses_the_rest() {
        let log = LocalLog::new(HistorySettings {
            length: 3,
            ttl: Duration::from_secs(60),
        });
        let (tx, _rx) = broadcast::channel(16);
        let start = log.head(1);
        assert_eq!(start.offset, 0);
        assert!(log.read(&start, 10).unwrap().events.is_empty());
        for _ in 0..5 {
            log.publish(event(1), &tx);
        }
        log.publish(event(2), &tx);
        assert_eq!(log.head(1).offset, 5);
        // Offsets 3..=5 kept: after 2 replays them, after 1 is a gap.
        let page = log.read(&start.at(2), 10).unwrap();
        let offsets: Vec<u64> = page
            .events
            .iter()
            .map(|e| e.position.as_ref().unwrap().offset)
            .collect();
        assert_eq!(offsets, [3, 4, 5]);
        assert_eq!(page.head.offset, 5);
        assert_eq!(log.read(&start.at(3), 1).unwrap().events.len(), 1);
        assert!(matches!(
            log.read(&start.at(1), 10),
            Err(HistoryError::Expired)
        ));
        assert!(matches!(
            log.read(&start.at(9), 10),
            Err(HistoryError::Unknown)
        ));
        let other_epoch = Position {
            epoch: Arc::from("abc"),
            ..start
        };
        assert!(matches!(
            log.read(&other_epoch, 10),
            Err(HistoryError::Expired)
        ));
    }

    #[test]
    fn events_older_than_the_ttl_are_gone() {
        let log = LocalLog::new(HistorySettings {
            length: 100,
            ttl: Duration::ZERO,
        });
        let (tx, _rx) = broadcast::channel(16);
        let start = log.head(1);
        log.publish(event(1), &tx);
        log.publish(event(1), &tx);
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(log.read(&start, 10), Err(HistoryError::Expired)));
        // Caught up is not a gap, however old.
        assert!(log.read(&start.at(2), 10).unwrap().events.is_empty());
    }
}
