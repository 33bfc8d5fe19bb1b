//! Rendered `roomEvents` payloads, shared by every subscriber of this process.
//!
//! Rendering a room event reads its conversation, contact inbox and sender
//! (`realtime/room.rs`): a few milliseconds of database work. Without sharing, an event for
//! 100 subscribers was rendered 100 times (the loader batched part of it), and each resuming
//! subscriber rendered its replay alone: `bench/RESULTS-chaos.md` shows `roomEvents` falling
//! behind at 100 subscribers and 135 events/s, with the server's statements 6× those of
//! `messageCreated`. Here each retained event is rendered once, by whichever subscriber comes
//! first (the others wait for that render), and kept for the subscribers that replay it later.
//!
//! Only events with a position are kept: the position names one event for good (a new epoch
//! starts new keys). Presence and typing events are rendered for each delivery. A render is the
//! same for every viewer who may receive the event (the recipient rules decide *whether*, not
//! *what*), so sharing it shows no one anything more. Bounded: the oldest entries go first.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::events::Position;

/// Renders kept: a few pages of replay for a busy account, ~1–3 KB each.
pub const CAPACITY: usize = 4096;

/// A rendered event: its RoomChannel name and payload, or `None` when it cannot be rendered
/// (its conversation is gone).
pub type Rendered = Option<Arc<(String, Value)>>;

type Slot = Arc<OnceCell<Rendered>>;

/// The shared renders of this process.
#[derive(Default)]
pub struct Renders {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<Position, Slot>,
    /// Insertion order, for eviction.
    order: VecDeque<Position>,
}

impl Renders {
    /// The render of the event at `position`, made by `render` if no one has made it yet
    /// (concurrent callers wait for the first one's). A failed render (`Err`: the database did
    /// not answer) is not kept: the next caller tries again.
    pub async fn get_or_render<F, Fut>(&self, position: &Position, render: F) -> Rendered
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Rendered, ()>>,
    {
        let slot = self.slot(position);
        slot.get_or_try_init(render).await.ok().cloned().flatten()
    }

    fn slot(&self, position: &Position) -> Slot {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = inner.slots.get(position) {
            return slot.clone();
        }
        while inner.order.len() >= CAPACITY {
            if let Some(oldest) = inner.order.pop_front() {
                inner.slots.remove(&oldest);
            }
        }
        let slot = Slot::default();
        inner.slots.insert(position.clone(), slot.clone());
        inner.order.push_back(position.clone());
        slot
    }

    /// How many renders are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .slots
            .len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;

    fn at(offset: u64) -> Position {
        Position {
            account_id: 1,
            epoch: Arc::from("e"),
            offset,
        }
    }

    #[tokio::test]
    async fn concurrent_subscribers_share_one_render() {
        let renders = Renders::default();
        let calls = AtomicUsize::new(0);
        let render = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(Some(Arc::new((
                "message.created".to_owned(),
                json!({ "id": 1 }),
            ))))
        };
        let first = at(1);
        let (a, b) = tokio::join!(
            renders.get_or_render(&first, render),
            renders.get_or_render(&first, render)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(a, b);
        renders.get_or_render(&at(2), render).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_oldest_renders_go_first() {
        let renders = Renders::default();
        for offset in 0..(CAPACITY as u64 + 10) {
            renders
                .get_or_render(&at(offset), || async { Ok(None) })
                .await;
        }
        assert_eq!(renders.len(), CAPACITY);
        let calls = AtomicUsize::new(0);
        let count = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(None)
        };
        renders.get_or_render(&at(CAPACITY as u64 + 9), count).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "recent: kept");
        renders.get_or_render(&at(0), count).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "oldest: evicted");
    }

    #[tokio::test]
    async fn a_failed_render_is_tried_again() {
        let renders = Renders::default();
        assert_eq!(
            renders.get_or_render(&at(1), || async { Err(()) }).await,
            None
        );
        let rendered = renders
            .get_or_render(&at(1), || async {
                Ok(Some(Arc::new(("contact.created".to_owned(), json!({})))))
            })
            .await;
        assert!(rendered.is_some());
    }
}
