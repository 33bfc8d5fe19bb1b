//! Inboxes: the channels (web widget, API, email, …) conversations arrive through.

pub mod repo;
pub mod schema;
pub mod types;
