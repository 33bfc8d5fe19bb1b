//! The realtime gateway: GraphQL subscriptions fed by the event bus, replacing ActionCable's
//! `RoomChannel`.
//!
//! Every subscription reads the same per-process fan-out ([`crate::events::EventBus`]) and keeps
//! only what its viewer may see ([`recipients::may_receive`], docs/design.md §5). Events carry their
//! rows, so delivering one costs no query; nested fields go through the shared dataloader, which
//! batches the loads of every subscriber receiving the same event.

pub mod recipients;
pub mod room;
pub mod schema;

use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::{auth::viewer::Viewer, events::Event, state::AppState};

/// The events `viewer` may receive, from now on. A subscriber that falls too far behind skips
/// the events it missed (logged), so a slow client never holds memory hostage.
pub fn events_for(state: &AppState, viewer: Viewer) -> impl Stream<Item = Arc<Event>> + use<> {
    let mut receiver = state.bus.subscribe();
    async_stream::stream! {
        loop {
            match receiver.recv().await {
                Ok(event) if recipients::may_receive(&viewer, &event) => yield event,
                Ok(_) => {}
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "subscriber fell behind; skipped events");
                }
                Err(RecvError::Closed) => break,
            }
        }
    }
}
