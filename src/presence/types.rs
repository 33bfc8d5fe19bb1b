//! GraphQL types of presence.

use async_graphql::{Enum, ID, SimpleObject};

use crate::auth::types::Availability;

/// Whether a contact is connected.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ContactAvailability {
    /// Connected within the presence window.
    Online,
    /// Not connected.
    Offline,
}

/// A user's presence.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct UserPresence {
    /// The user's id.
    pub user_id: ID,
    /// The user's current availability.
    pub availability: Availability,
}

/// A contact's presence.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct ContactPresence {
    /// The contact's id.
    pub contact_id: ID,
    /// Whether the contact is online.
    pub availability: ContactAvailability,
}

/// The presence of one account (Chatwoot's `presence.update`).
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct PresenceUpdate {
    /// The account's id.
    pub account_id: ID,
    /// Every member with their availability.
    pub users: Vec<UserPresence>,
    /// Online contacts (agents only; empty for contact tokens).
    pub contacts: Vec<ContactPresence>,
}
