//! Presence: who in an account is available, pushed to `presenceUpdated` subscribers.
//!
//! For now a user's presence is the availability they chose with `setAvailability`, and no
//! contact is online; connection heartbeats held in Redis (domain.md §9) come with the realtime
//! gateway.

pub mod schema;
pub mod types;

use entity::enums::Availability;

use crate::{app::AppState, auth::repo as auth_repo, error::AppResult};
use sea_orm::ConnectionTrait;
use types::{PresenceUpdate, UserPresence};

/// The current presence of an account. Contacts are included only for agents.
pub async fn snapshot(
    db: &impl ConnectionTrait,
    account_id: i64,
    include_contacts: bool,
) -> AppResult<PresenceUpdate> {
    let users = auth_repo::members(db, account_id)
        .await?
        .into_iter()
        .map(|(user, membership)| UserPresence {
            user_id: user.id.into(),
            availability: membership.availability.into(),
        })
        .collect();
    let _ = include_contacts;
    Ok(PresenceUpdate {
        account_id: account_id.into(),
        users,
        contacts: Vec::new(),
    })
}

/// Contacts of the account online now. Presence tracking of contacts arrives with the realtime
/// gateway; until then nobody is online.
pub async fn online_contacts(_state: &AppState, _account_id: i64) -> AppResult<Vec<i64>> {
    Ok(Vec::new())
}

/// Whether a contact is online now.
pub async fn contact_online(state: &AppState, account_id: i64, contact_id: i64) -> AppResult<bool> {
    Ok(online_contacts(state, account_id)
        .await?
        .contains(&contact_id))
}

/// Whether an availability counts as present.
pub fn is_present(availability: Availability) -> bool {
    availability != Availability::Offline
}
