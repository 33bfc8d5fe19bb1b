//! Contacts: the people a support team talks to — reads, writes, the segment filter, labels.

pub mod filter;
pub mod labels;
pub mod merge;
pub mod repo;
pub mod schema;
pub mod types;
pub mod write;
