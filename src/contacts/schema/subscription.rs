//! The `contactChanged` subscription.

use async_graphql::{Context, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::{
    auth::guard::RoleGuard,
    contacts::types::ContactEvent,
    context::ContextExt,
    error::AppError,
    events::{ContactChange, EventPayload},
    loaders::ContactById,
};

/// Contact subscriptions.
#[derive(Default)]
pub struct ContactSubscription;

#[Subscription]
impl ContactSubscription {
    /// Contacts of the account created, updated, merged or deleted (agents only).
    #[graphql(guard = "RoleGuard::Member")]
    async fn contact_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = ContactEvent>, AppError> {
        let viewer = ctx.member()?;
        let state = ctx.shared_state()?;
        let mut events = state.bus.subscribe();
        Ok(async_stream::stream! {
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped, "contact subscriber lagged");
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                let EventPayload::ContactChanged { kind, contact_id } = event.payload else { continue };
                if event.account_id != viewer.account_id {
                    continue;
                }
                let contact = match kind {
                    ContactChange::Deleted => None,
                    // The shared loader batches the loads of every subscriber receiving this event.
                    _ => state
                        .loader
                        .load_one(ContactById { account_id: viewer.account_id, id: contact_id })
                        .await
                        .ok()
                        .flatten(),
                };
                yield ContactEvent { kind: kind.into(), contact_id: contact_id.into(), contact };
            }
        })
    }
}
