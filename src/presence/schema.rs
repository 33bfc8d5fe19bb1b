//! The `presenceUpdated` subscription.

use std::time::Duration;

use async_graphql::{Context, Subscription};
use futures_util::{Stream, StreamExt};

use super::{snapshot, types::PresenceUpdate};
use crate::{
    auth::viewer::Viewer,
    context::ContextExt,
    error::{AppError, AppResult},
    events::{EventPayload, Position},
    realtime::gate::feed,
};

/// Changes arriving within this window are sent as one snapshot.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// Entries that age out (a crashed instance's connections) publish nothing; recheck this often.
const RECHECK: Duration = Duration::from_secs(5);

/// Presence subscriptions.
#[derive(Default)]
pub struct PresenceSubscription;

#[Subscription]
impl PresenceSubscription {
    /// The account's presence (Chatwoot's `presence.update`): a snapshot first, then a new one
    /// whenever it changes. Contacts are listed for members only.
    async fn presence_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Accepted like every subscription's `after`; presence is not history, so a fresh snapshot comes first whatever it is."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<PresenceUpdate>> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let state = ctx.shared_state()?;
        let account_id = viewer.account_id();
        let include_contacts = matches!(viewer, Viewer::User(_));
        if let Some(after) = &after {
            Position::parse(after, account_id)?;
        }
        // Listen before reading the snapshot so no change between the two is missed.
        let mut events = Box::pin(feed(ctx, viewer, None).await?.into_stream());
        Ok(async_stream::stream! {
            let mut last = None;
            let mut recheck = tokio::time::interval(RECHECK);
            recheck.tick().await;
            loop {
                match snapshot(&state.db, &state.presence, account_id, include_contacts).await {
                    Ok(update) if last.as_ref() != Some(&update) => {
                        last = Some(update.clone());
                        yield Ok(update);
                    }
                    Ok(_) => {}
                    Err(err) => {
                        yield Err(err);
                        break;
                    }
                }
                // Wait for a change of this account (or the periodic recheck), then let a burst
                // of changes settle.
                loop {
                    tokio::select! {
                        _ = recheck.tick() => break,
                        delivery = events.next() => match delivery {
                            Some(Ok(delivery)) if delivery.event.payload == EventPayload::PresenceChanged => {
                                tokio::time::sleep(DEBOUNCE).await;
                                break;
                            }
                            Some(Ok(_)) => {}
                            Some(Err(err)) => {
                                yield Err(err);
                                return;
                            }
                            None => return,
                        },
                    }
                }
            }
        })
    }
}
