//! The `contactChanged` subscription.

use async_graphql::{Context, Subscription};
use futures_util::{Stream, StreamExt};

use crate::{
    auth::{guard::RoleGuard, viewer::Viewer},
    contacts::types::ContactEvent,
    context::ContextExt,
    error::{AppError, AppResult},
    events::{ContactChange, EventPayload},
    loaders::ContactById,
    realtime::gate::{feed, keep},
};

/// Contact subscriptions.
#[derive(Default)]
pub struct ContactSubscription;

#[Subscription]
impl ContactSubscription {
    /// Contacts of the account created, updated, merged or deleted (agents only). A replayed
    /// event carries the contact as it is now.
    #[graphql(guard = "RoleGuard::Member")]
    async fn contact_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "A position received earlier (`extensions.position`): the events after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<ContactEvent>> + use<>, AppError> {
        let viewer = ctx.member()?;
        let state = ctx.shared_state()?;
        let gate = feed(ctx, Viewer::User(viewer), after.as_deref()).await?;
        let changes = keep(gate.into_stream(), |delivery| {
            match delivery.event.payload {
                EventPayload::ContactChanged { kind, contact_id } => Some((kind, contact_id)),
                _ => None,
            }
        });
        Ok(changes.then(move |change| {
            let state = state.clone();
            async move {
                let (kind, contact_id) = change?;
                let contact = match kind {
                    ContactChange::Deleted => None,
                    // The shared loader batches the loads of every subscriber receiving this
                    // event.
                    _ => state
                        .loader
                        .load_one(ContactById {
                            account_id: viewer.account_id,
                            id: contact_id,
                        })
                        .await
                        .ok()
                        .flatten(),
                };
                Ok(ContactEvent {
                    kind: kind.into(),
                    contact_id: contact_id.into(),
                    contact,
                })
            }
        }))
    }
}
