//! Identity: tokens, passwords, the viewer, roles, and the user-facing operations
//! (`login`, `me`, `agents`, `createAgent`, `setAvailability`).

pub mod access;
pub mod guard;
pub mod jwt;
pub mod password;
pub mod repo;
pub mod schema;
pub mod types;
pub mod viewer;
