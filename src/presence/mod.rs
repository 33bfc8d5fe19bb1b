//! Presence (docs/design.md §5): who in an account is available, pushed to `presenceUpdated`.
//!
//! A user or contact is online while it holds a live websocket (each connection refreshes its
//! entry in the [`store`] every [`store::HEARTBEAT`]). Users also choose an availability:
//! online users show it; users who are not auto-offline always show it, connected or not.

pub mod schema;
pub mod store;
pub mod types;

use std::time::Duration;

use entity::enums::Availability;
use sea_orm::ConnectionTrait;

use crate::{
    auth::{repo as auth_repo, viewer::Viewer},
    error::AppResult,
    events::EventPayload,
    state::AppState,
    telemetry::Throttle,
};
use store::Who;
use types::{ContactAvailability, ContactPresence, PresenceUpdate, UserPresence};

/// The presence of an account. Contacts are included only for members (`include_contacts`).
pub async fn snapshot(
    db: &impl ConnectionTrait,
    store: &store::PresenceStore,
    account_id: i64,
    include_contacts: bool,
) -> AppResult<PresenceUpdate> {
    let online = store.online(account_id).await?;
    let users = auth_repo::members(db, account_id)
        .await?
        .into_iter()
        .map(|(user, membership)| {
            let present = !membership.auto_offline || online.users.contains(&user.id);
            let availability = if present {
                membership.availability
            } else {
                Availability::Offline
            };
            UserPresence {
                user_id: user.id.into(),
                availability: availability.into(),
            }
        })
        .collect();
    let contacts = if include_contacts {
        online
            .contacts
            .iter()
            .map(|id| ContactPresence {
                contact_id: (*id).into(),
                availability: ContactAvailability::Online,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(PresenceUpdate {
        account_id: account_id.into(),
        users,
        contacts,
    })
}

/// Contacts of the account online now.
pub async fn online_contacts(state: &AppState, account_id: i64) -> AppResult<Vec<i64>> {
    Ok(state.presence.online(account_id).await?.contacts)
}

/// Whether a contact is online now.
pub async fn contact_online(state: &AppState, account_id: i64, contact_id: i64) -> AppResult<bool> {
    Ok(online_contacts(state, account_id)
        .await?
        .contains(&contact_id))
}

/// Tells the account's `presenceUpdated` subscribers to recompute.
async fn changed(state: &AppState, account_id: i64) {
    state
        .bus
        .publish_to(account_id, EventPayload::PresenceChanged)
        .await;
}

fn who(viewer: Viewer) -> Who {
    match viewer {
        Viewer::User(user) => Who::User(user.user_id),
        Viewer::Contact(contact) => Who::Contact(contact.contact_id),
    }
}

/// Failed heartbeats and removals, logged at most once per 10 s per process: during a Redis
/// outage every open websocket fails its heartbeat every [`store::HEARTBEAT`], and one line
/// with a count says as much as thousands.
static STORE_WARNINGS: Throttle = Throttle::new(Duration::from_secs(10));

/// Records a heartbeat of a websocket's viewer: first before its `connection_ack` goes out (so
/// the client's first snapshot already shows it), then every [`store::HEARTBEAT`].
pub async fn connect(state: &AppState, viewer: Viewer, connection: &str) {
    let touched = state
        .presence
        .touch(viewer.account_id(), who(viewer), connection)
        .await;
    settle(state, viewer, touched, "presence heartbeat failed").await;
}

/// Removes a closed websocket's presence; publishes a change when the viewer went offline.
pub async fn disconnect(state: &AppState, viewer: Viewer, connection: &str) {
    let left = state
        .presence
        .leave(viewer.account_id(), who(viewer), connection)
        .await;
    settle(state, viewer, left, "presence removal failed").await;
}

/// After a heartbeat or a removal: publishes a change when the viewer came online or went
/// offline (`Ok(true)`), or logs the store's failure, throttled.
async fn settle(state: &AppState, viewer: Viewer, outcome: AppResult<bool>, failed: &str) {
    match outcome {
        Ok(true) => changed(state, viewer.account_id()).await,
        Ok(false) => {}
        Err(err) => {
            if let Some(suppressed) = STORE_WARNINGS.allow() {
                tracing::warn!(error = ?err, suppressed, "{failed}");
            }
        }
    }
}
