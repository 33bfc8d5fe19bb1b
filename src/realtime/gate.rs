//! The one gate from the bus to a viewer (docs/design.md §3): every subscription reads its
//! events through [`open`], where positions, replay, recipient rules and lag live once.
//!
//! How a subscription stays exact:
//! - it listens to the bus *before* it reads the history, so an event published while it is
//!   being set up is either in what it reads or in what it hears, and offsets tell the two
//!   apart (nothing twice); without `after`, what it hears first is new to the client even when
//!   the head it read already counts it;
//! - with `after`, it first replays the history after that position, page by page, then goes
//!   on live; without, it starts from the account's current head;
//! - offsets of an account are consecutive, so a live event that skips some (a subscriber that
//!   fell more than the bus's buffer behind, a pub/sub message lost while Redis reconnected)
//!   shows the gap, which it fills from the history; a gap older than the history ends the
//!   subscription with `HISTORY_EXPIRED` rather than skip silently;
//! - when the stream's epoch changes (Redis lost its data) it replays the new epoch from its
//!   start.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};

use futures_util::{Stream, StreamExt, future};
use tokio::sync::{broadcast, broadcast::error::RecvError, watch};

use super::recipients;
use crate::{
    auth::viewer::Viewer,
    error::{AppError, AppResult},
    events::{HistoryError, Position, Stamped},
    state::AppState,
};

/// Events read from the history per request while replaying, at most.
pub const REPLAY_PAGE: usize = 500;
/// The first read's size; each later one doubles, up to [`REPLAY_PAGE`]. A client that resumes
/// usually missed a few events, and one dropped again soon after resuming would otherwise have
/// had a whole page read and decoded for it in vain.
const FIRST_PAGE: usize = 64;

/// Where the websocket layer finds the position of the event behind each response it sends
/// (`extensions.position`): it puts one into each operation's data, the gate writes it.
#[derive(Clone, Default, Debug)]
pub struct PositionCell(Arc<Mutex<Option<String>>>);

impl PositionCell {
    fn set(&self, position: Option<&Position>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = position.map(Position::to_string);
    }

    /// The position of the latest event the operation delivered (or started from).
    pub fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// An event for the viewer, and the position a client resumes from after it: the event's own,
/// or for events outside the history (typing, presence) the latest one before it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: Arc<Stamped>,
    pub position: Option<Position>,
}

/// A viewer's feed of one account's events, before it starts.
pub struct Gate {
    state: Arc<AppState>,
    viewer: Viewer,
    live: broadcast::Receiver<Arc<Stamped>>,
    resyncs: watch::Receiver<u64>,
    /// The latest position handled (delivered or not for this viewer).
    cursor: Position,
    /// The position to catch up to from the history before listening again.
    target: Option<Position>,
    /// Events read from the history, not yet handled.
    replay: VecDeque<Arc<Stamped>>,
    /// The size of the next history read.
    page: usize,
    /// Opened without `after` and nothing heard yet: the head was read after listening began,
    /// so the first events heard may be at or before it, and are new to the client all the same.
    fresh: bool,
    cell: PositionCell,
}

/// Opens the viewer's feed, after `after` if given. Errors at once (as the subscription's
/// error) when `after` is malformed, of another account, or older than the history.
pub async fn open(
    state: &Arc<AppState>,
    viewer: Viewer,
    after: Option<&str>,
    cell: PositionCell,
) -> AppResult<Gate> {
    let account_id = viewer.account_id();
    let after = after
        .map(|text| Position::parse(text, account_id))
        .transpose()?;
    // Listen first: whatever is published from here on is heard, or read below.
    let live = state.bus.subscribe();
    let mut resyncs = state.bus.resyncs();
    resyncs.mark_unchanged();
    let mut gate = Gate {
        state: state.clone(),
        viewer,
        live,
        resyncs,
        cursor: Position {
            account_id,
            epoch: Arc::from(""),
            offset: 0,
        },
        target: None,
        replay: VecDeque::new(),
        page: FIRST_PAGE,
        fresh: after.is_none(),
        cell,
    };
    match after {
        Some(after) => {
            // The first page now, so that an expired position fails the subscribe itself.
            let page = state.bus.read(&after, gate.next_page()).await?;
            state
                .metrics
                .events_replayed
                .inc_by(page.events.len() as u64);
            gate.replay.extend(page.events);
            gate.target = Some(page.head);
            gate.cursor = after;
        }
        None => gate.cursor = state.bus.head(account_id).await?,
    }
    gate.cell.set(Some(&gate.cursor));
    Ok(gate)
}

impl Gate {
    /// The account's latest position as this feed starts (or resumes from).
    pub fn position(&self) -> &Position {
        &self.cursor
    }

    /// The events the viewer may receive, in order, each once.
    pub fn into_stream(mut self) -> impl Stream<Item = AppResult<Delivery>> + use<> {
        async_stream::stream! {
            loop {
                match self.next().await {
                    Ok(Some(delivery)) => yield Ok(delivery),
                    Ok(None) => break,
                    Err(err) => {
                        yield Err(err);
                        break;
                    }
                }
            }
        }
    }

    /// The next event for the viewer; `None` when the bus is gone.
    async fn next(&mut self) -> AppResult<Option<Delivery>> {
        loop {
            // What the history gave, first.
            if let Some(event) = self.replay.pop_front() {
                if let Some(delivery) = self.handle(event) {
                    return Ok(Some(delivery));
                }
                continue;
            }
            // Behind a known head: the next page.
            if let Some(target) = self.target.take()
                && self.cursor.offset < target.offset
            {
                let page = self.read_after_cursor().await?;
                self.replay.extend(page.events);
                self.target = Some(page.head.clone().max_by_offset(target));
                continue;
            }
            tokio::select! {
                received = self.live.recv() => match received {
                    Ok(event) => {
                        if event.account_id != self.cursor.account_id {
                            continue;
                        }
                        if let Some(delivery) = self.heard(event) {
                            return Ok(Some(delivery));
                        }
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::info!(skipped, "subscriber fell behind; catching up from the history");
                        self.state.metrics.subscriber_catch_ups.inc();
                        self.catch_up_to_head().await?;
                    }
                    Err(RecvError::Closed) => return Ok(None),
                },
                changed = self.resyncs.changed() => {
                    if changed.is_err() {
                        return Ok(None);
                    }
                    self.catch_up_to_head().await?;
                }
            }
        }
    }

    /// A live event of the account: delivered, skipped as already handled, or the sign of a
    /// gap to fill first.
    fn heard(&mut self, event: Arc<Stamped>) -> Option<Delivery> {
        let Some(position) = &event.position else {
            return self.deliver(event);
        };
        if std::mem::take(&mut self.fresh)
            && position.epoch == self.cursor.epoch
            && position.offset <= self.cursor.offset + 1
        {
            self.cursor = position.clone();
            return self.deliver(event);
        }
        if position.epoch == self.cursor.epoch {
            if position.offset <= self.cursor.offset {
                return None;
            }
            if position.offset > self.cursor.offset + 1 {
                // Missed some: read up to and including this one from the history.
                self.target = Some(position.clone());
                return None;
            }
        } else if position.offset > 1 {
            // A new epoch whose start we did not hear: replay it from the beginning.
            self.cursor = position.at(0);
            self.target = Some(position.clone());
            return None;
        }
        self.handle(event)
    }

    /// Advances the cursor past a retained event and delivers it if the viewer may see it.
    fn handle(&mut self, event: Arc<Stamped>) -> Option<Delivery> {
        if let Some(position) = &event.position {
            if position.epoch == self.cursor.epoch && position.offset <= self.cursor.offset {
                return None;
            }
            self.cursor = position.clone();
        }
        self.deliver(event)
    }

    fn deliver(&self, event: Arc<Stamped>) -> Option<Delivery> {
        if !recipients::may_receive(&self.viewer, &event) {
            return None;
        }
        self.cell.set(Some(&self.cursor));
        Some(Delivery {
            event,
            position: Some(self.cursor.clone()),
        })
    }

    /// The size of the next history read, doubling the one after.
    fn next_page(&mut self) -> usize {
        let page = self.page;
        self.page = (page * 2).min(REPLAY_PAGE);
        page
    }

    async fn read_after_cursor(&mut self) -> AppResult<crate::events::Page> {
        let limit = self.next_page();
        let page = retrying(|| self.state.bus.read(&self.cursor, limit)).await?;
        self.state
            .metrics
            .events_replayed
            .inc_by(page.events.len() as u64);
        Ok(page)
    }

    /// Reads the head and catches up to it (the new epoch from its start if the epoch changed).
    async fn catch_up_to_head(&mut self) -> AppResult<()> {
        let head = retrying(|| self.state.bus.head(self.cursor.account_id)).await?;
        self.fresh = false;
        if head.epoch != self.cursor.epoch {
            self.cursor = head.at(0);
        }
        self.target = Some(head);
        Ok(())
    }
}

/// Runs a history request, again after a short wait while Redis does not answer (a subscriber
/// told to catch up right after Redis returned may be quicker than the command connection's
/// reconnect). Gives up after about two seconds: the subscription then ends with
/// SERVICE_UNAVAILABLE and its client resumes from its last position.
async fn retrying<T, F, Fut>(mut request: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, HistoryError>>,
{
    let mut delay = std::time::Duration::from_millis(50);
    for _ in 0..6 {
        match request().await {
            Err(HistoryError::Unavailable) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            result => return result.map_err(AppError::from),
        }
    }
    request().await.map_err(AppError::from)
}

impl Position {
    /// Whichever of the two is further along (same epoch assumed).
    fn max_by_offset(self, other: Position) -> Position {
        if other.offset > self.offset {
            other
        } else {
            self
        }
    }
}

/// Keeps the deliveries `pick` maps to a value; errors pass through (and end the stream).
pub fn keep<T>(
    deliveries: impl Stream<Item = AppResult<Delivery>>,
    mut pick: impl FnMut(&Delivery) -> Option<T>,
) -> impl Stream<Item = AppResult<T>> {
    deliveries.filter_map(move |item| {
        future::ready(match item {
            Ok(delivery) => pick(&delivery).map(Ok),
            Err(err) => Some(Err(err)),
        })
    })
}

/// The viewer's deliveries for a subscription resolver: the position cell comes from the
/// operation's data (the websocket layer puts one there), `after` from its arguments.
pub async fn feed(
    ctx: &async_graphql::Context<'_>,
    viewer: Viewer,
    after: Option<&str>,
) -> AppResult<Gate> {
    use crate::context::ContextExt;
    let state = ctx.shared_state()?;
    let cell = ctx.data_opt::<PositionCell>().cloned().unwrap_or_default();
    open(&state, viewer, after, cell).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
