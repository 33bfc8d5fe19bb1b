//! Revocation: which open sockets must re-check their access when an event says it changed.
//!
//! One task per process ([`listen`]) reads the event bus for `AccessChanged` and for contacts
//! deleted or merged away, and wakes the sockets of that user or contact through this registry.
//! A socket costs one small [`Notify`] here instead of a bus receiver of its own; woken, it
//! re-reads its access (`auth::access::current`) and closes with 4403 when access is gone.
//! Events come through the bus, so a change made on any instance reaches the sockets of every
//! instance.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use tokio::sync::{Notify, broadcast::error::RecvError};

use crate::{
    auth::viewer::Viewer,
    events::{ContactChange, Event, EventPayload},
    state::AppState,
};

/// Whose access a socket holds: a member of an account, or a contact (widget token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    User { account_id: i64, user_id: i64 },
    Contact { account_id: i64, contact_id: i64 },
}

impl From<Viewer> for Subject {
    fn from(viewer: Viewer) -> Self {
        match viewer {
            Viewer::User(user) => Self::User {
                account_id: user.account_id,
                user_id: user.user_id,
            },
            Viewer::Contact(contact) => Self::Contact {
                account_id: contact.account_id,
                contact_id: contact.contact_id,
            },
        }
    }
}

type Sockets = HashMap<Subject, Vec<Arc<Notify>>>;

/// The open sockets by whose access they hold; cheap to clone (one shared map).
#[derive(Clone, Default)]
pub struct Registry {
    sockets: Arc<Mutex<Sockets>>,
}

/// A socket's place in the registry, removed when dropped.
pub struct Registration {
    sockets: Arc<Mutex<Sockets>>,
    subject: Subject,
    notify: Arc<Notify>,
}

impl Registration {
    /// Resolves when the socket's access may have changed (a wake-up sent while the socket was
    /// busy is kept for its next wait).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut sockets = lock(&self.sockets);
        if let Some(list) = sockets.get_mut(&self.subject) {
            list.retain(|n| !Arc::ptr_eq(n, &self.notify));
            if list.is_empty() {
                sockets.remove(&self.subject);
            }
        }
    }
}

/// A panic elsewhere while holding the lock leaves the map consistent (every update is one
/// call), so a poisoned lock is still usable.
fn lock(sockets: &Mutex<Sockets>) -> MutexGuard<'_, Sockets> {
    sockets.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    /// Registers a socket of `viewer`, unless that user (or contact) already holds `max`
    /// sockets on this instance (`MAX_SOCKETS_PER_USER`): the per-socket cap on operations
    /// would mean little if one token could open sockets without end.
    pub fn register(&self, viewer: Viewer, max: usize) -> Option<Registration> {
        let subject = Subject::from(viewer);
        let notify = Arc::new(Notify::new());
        {
            let mut sockets = lock(&self.sockets);
            let list = sockets.entry(subject).or_default();
            if list.len() >= max {
                if list.is_empty() {
                    sockets.remove(&subject);
                }
                return None;
            }
            list.push(notify.clone());
        }
        Some(Registration {
            sockets: self.sockets.clone(),
            subject,
            notify,
        })
    }

    /// Wakes the sockets whose access `event` may have changed.
    fn notify(&self, event: &Event) {
        let account_id = event.account_id;
        let subject = match &event.payload {
            EventPayload::AccessChanged { user_id } => Subject::User {
                account_id,
                user_id: *user_id,
            },
            EventPayload::ContactChanged {
                kind: ContactChange::Deleted | ContactChange::Merged,
                contact_id,
            } => Subject::Contact {
                account_id,
                contact_id: *contact_id,
            },
            _ => return,
        };
        if let Some(list) = lock(&self.sockets).get(&subject) {
            for notify in list {
                notify.notify_one();
            }
        }
    }

    /// How many sockets are registered (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.sockets).values().map(Vec::len).sum()
    }
}

/// Starts the process's one task waking sockets on access changes; it ends at shutdown.
pub fn listen(state: &Arc<AppState>) {
    // Subscribed now, before the server accepts anything, so no change is missed.
    let mut events = state.bus.subscribe();
    let registry = state.sockets.clone();
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => registry.notify(&event),
                // Each socket's periodic re-check catches what was skipped.
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "access listener fell behind; skipped events");
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use entity::enums::Role;

    use super::*;
    use crate::auth::viewer::UserViewer;

    fn user(user_id: i64) -> Viewer {
        Viewer::User(UserViewer {
            user_id,
            account_id: 1,
            role: Role::Agent,
        })
    }

    #[tokio::test]
    async fn wakes_only_the_sockets_of_the_changed_user_and_forgets_closed_ones() {
        let registry = Registry::default();
        let seven = registry.register(user(7), 10).unwrap();
        let eight = registry.register(user(8), 10).unwrap();
        registry.notify(&Event {
            account_id: 1,
            payload: EventPayload::AccessChanged { user_id: 7 },
        });
        let wait = Duration::from_millis(50);
        assert!(tokio::time::timeout(wait, seven.changed()).await.is_ok());
        assert!(tokio::time::timeout(wait, eight.changed()).await.is_err());
        // Another account's user 7 is someone else.
        registry.notify(&Event {
            account_id: 2,
            payload: EventPayload::AccessChanged { user_id: 7 },
        });
        assert!(tokio::time::timeout(wait, seven.changed()).await.is_err());
        drop(seven);
        drop(eight);
        assert_eq!(registry.len(), 0);
    }

    #[test]
    fn a_user_holds_at_most_max_sockets() {
        let registry = Registry::default();
        let first = registry.register(user(7), 2).unwrap();
        let _second = registry.register(user(7), 2).unwrap();
        assert!(registry.register(user(7), 2).is_none());
        // Someone else is not counted against user 7.
        assert!(registry.register(user(8), 2).is_some());
        drop(first);
        assert!(registry.register(user(7), 2).is_some());
    }
}
