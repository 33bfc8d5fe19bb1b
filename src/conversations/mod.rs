//! Conversations: a contact's threads of messages in one inbox — reads, creation, status,
//! assignment, labels, and the widget tokens contacts use to take part.

pub mod repo;
pub mod schema;
pub mod types;
pub mod write;
