//! Identity: tokens, passwords, the viewer, roles, and the user-facing operations
//! (`login`, `me`, `agents`, `createAgent`, `updateAgent`, `removeAgent`, `setAvailability`,
//! `invitations`, `acceptInvitation`).

pub mod access;
pub mod agents;
pub mod cache;
pub mod guard;
pub mod invitations;
pub mod jwt;
pub mod password;
pub mod repo;
pub mod schema;
pub mod types;
pub mod viewer;
