//! GraphQL types of inboxes.

use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::inbox;

/// A channel of the account.
#[derive(SimpleObject, Clone, Debug)]
pub struct Inbox {
    /// The inbox's id.
    pub id: ID,
    /// Display name.
    pub name: String,
    /// The channel kind, a free string such as `web`, `api` or `email`.
    pub channel_type: String,
    /// When the inbox was created.
    pub created_at: DateTime<Utc>,
}

impl From<inbox::Model> for Inbox {
    fn from(inbox: inbox::Model) -> Self {
        Self {
            id: inbox.id.into(),
            name: inbox.name,
            channel_type: inbox.channel_type,
            created_at: inbox.created_at,
        }
    }
}

/// A new inbox.
#[derive(InputObject, Debug)]
pub struct CreateInboxInput {
    /// Display name (1 to 255 characters).
    pub name: String,
    /// The channel kind, e.g. `web`, `api`, `email` (lower-cased).
    pub channel_type: String,
}
