//! What the bus carries: plain event data, with no domain types, so that the bus depends on no
//! domain (the domains map these to their GraphQL types). The serde names are the wire format
//! between instances and in the history, so they stay as they are.

use std::ops::Deref;

use serde::{Deserialize, Serialize};

use super::Position;

/// An event of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub account_id: i64,
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPayload {
    /// Someone's presence or availability in the account changed: recompute the snapshot.
    PresenceChanged,
    /// A user's membership of the account changed (removed, role changed): their open
    /// websockets re-check access at once (`auth::access`).
    AccessChanged { user_id: i64 },
    /// A contact was created, updated, merged or deleted.
    ContactChanged {
        kind: ContactChange,
        contact_id: i64,
    },
    /// A message was created. Carries the row so that subscribers need no query to send it.
    MessageCreated {
        message: Box<entity::message::Model>,
        /// The conversation's contact (decides whether the contact may receive it).
        contact_id: i64,
    },
    /// A message was changed.
    MessageUpdated {
        message: Box<entity::message::Model>,
        contact_id: i64,
    },
    /// A conversation was created.
    ConversationCreated {
        conversation: Box<entity::conversation::Model>,
    },
    /// A conversation's status changed.
    ConversationStatusChanged {
        conversation: Box<entity::conversation::Model>,
    },
    /// A conversation changed: assignee, labels, status or contact.
    ConversationUpdated {
        conversation: Box<entity::conversation::Model>,
        change: ConversationChange,
    },
    /// Someone started or stopped typing in a conversation.
    Typing {
        conversation_id: i64,
        contact_id: i64,
        typing: bool,
        /// A private note being typed: never shown to the contact.
        private: bool,
        sender: Sender,
    },
    /// A CSV import started, progressed a batch, or ended. Carries the row.
    DataImportProgress {
        data_import: Box<entity::data_import::Model>,
    },
}

/// What happened to a contact. Plain data, so the bus depends on no domain; the contacts
/// domain maps it to its GraphQL enum (`contacts/types/events.rs`). The variant names are the
/// wire format between instances, so they stay as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactChange {
    /// The contact was created.
    Created,
    /// The contact was changed.
    Updated,
    /// Another contact was merged into it.
    Merged,
    /// The contact was deleted.
    Deleted,
}

/// What changed in a conversation (Chatwoot's event names differ per change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationChange {
    /// `assignee.changed`
    Assignee,
    /// `conversation.updated` (labels)
    Labels,
    /// `conversation.updated` (status)
    Status,
    /// `conversation.contact_changed` (moved by a merge)
    Contact,
}

/// Who did something: a member or a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Sender {
    User(i64),
    Contact(i64),
}

/// An event with its place in its account's stream (none for events outside the history).
#[derive(Debug)]
pub struct Stamped {
    pub position: Option<Position>,
    pub event: Event,
}

impl Deref for Stamped {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.event
    }
}

impl EventPayload {
    /// Whether the event is kept in its account's history and gets a position. Presence (a fresh
    /// snapshot is sent on subscribe), access changes (internal) and typing (stale within
    /// seconds) are not.
    pub fn is_retained(&self) -> bool {
        !matches!(
            self,
            Self::PresenceChanged | Self::AccessChanged { .. } | Self::Typing { .. }
        )
    }
}
