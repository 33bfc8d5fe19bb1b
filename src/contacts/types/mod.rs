//! GraphQL types of contacts: the contact object and its contact inboxes (`contact.rs`), what
//! clients send (`inputs.rs`), and the `contactChanged` event (`events.rs`).

mod contact;
mod events;
mod inputs;

pub use contact::{
    Contact, ContactConnection, ContactEdge, ContactInbox, ContactType, additional_text,
};
pub use events::{ContactEvent, ContactEventKind};
pub use inputs::{
    ContactSort, ContactSortField, CreateContactInput, SortDirection, UpdateContactInput,
};
