//! The account's catalogues: custom attribute definitions and labels.

pub mod repo;
pub mod schema;
pub mod types;
