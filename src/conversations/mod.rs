//! Conversations: a contact's threads of messages in one inbox.

pub mod repo;
pub mod types;
