//! The `contactChanged` subscription's event.

use async_graphql::{ComplexObject, Enum, ID, SimpleObject};
use entity::contact;

use super::Contact;
use crate::events::ContactChange;

/// What happened to a contact (the `contactChanged` subscription).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ContactEventKind {
    /// The contact was created.
    Created,
    /// The contact was changed.
    Updated,
    /// Another contact was merged into it.
    Merged,
    /// The contact was deleted.
    Deleted,
}

impl From<ContactChange> for ContactEventKind {
    fn from(change: ContactChange) -> Self {
        match change {
            ContactChange::Created => Self::Created,
            ContactChange::Updated => Self::Updated,
            ContactChange::Merged => Self::Merged,
            ContactChange::Deleted => Self::Deleted,
        }
    }
}

/// A change to a contact of the account.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct ContactEvent {
    /// What happened.
    pub kind: ContactEventKind,
    /// The contact's id.
    pub contact_id: ID,
    #[graphql(skip)]
    pub contact: Option<contact::Model>,
}

#[ComplexObject]
impl ContactEvent {
    /// The contact as it is now (null once deleted).
    async fn contact(&self) -> Option<Contact> {
        self.contact.clone().map(Contact)
    }
}
