//! The `presenceUpdated` subscription.

use async_graphql::{Context, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::{snapshot, types::PresenceUpdate};
use crate::{auth::viewer::Viewer, context::ContextExt, events::EventPayload};

/// Presence subscriptions.
#[derive(Default)]
pub struct PresenceSubscription;

#[Subscription]
impl PresenceSubscription {
    /// The account's presence: a snapshot first, then a new one whenever it changes.
    async fn presence_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<PresenceUpdate>>> {
        let viewer = ctx.viewer()?;
        let state = ctx.shared_state()?;
        let account_id = viewer.account_id();
        let include_contacts = matches!(viewer, Viewer::User(_));
        // Subscribe before reading the snapshot so no change between the two is missed.
        let mut events = state.bus.subscribe();
        Ok(async_stream::stream! {
            let mut last = None;
            loop {
                match snapshot(&state.db, account_id, include_contacts).await {
                    Ok(update) if last.as_ref() != Some(&update) => {
                        last = Some(update.clone());
                        yield Ok(update);
                    }
                    Ok(_) => {}
                    Err(err) => {
                        yield Err(err.into());
                        break;
                    }
                }
                // Wait for the next change of this account.
                loop {
                    match events.recv().await {
                        Ok(event) if event.account_id == account_id
                            && event.payload == EventPayload::PresenceChanged => break,
                        Ok(_) => {}
                        Err(RecvError::Lagged(skipped)) => {
                            tracing::warn!(skipped, "presence subscriber lagged; resending snapshot");
                            break;
                        }
                        Err(RecvError::Closed) => return,
                    }
                }
            }
        })
    }
}
