//! Messages: what is said in a conversation, by a member or by the contact, and who is typing.
//!
//! Members may post any kind of message; a contact holding a widget token may post only public
//! INCOMING messages to the conversations of its own contact inbox.

pub mod repo;
pub mod schema;
pub mod types;
pub mod write;
