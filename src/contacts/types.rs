//! GraphQL types of contacts: the contact object and its contact inboxes (`types/contact.rs`),
//! what clients send (`types/inputs.rs`), and the `contactChanged` event (`types/events.rs`).

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
