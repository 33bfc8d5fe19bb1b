//! Contact exports (docs/design.md §5): the `exportContacts` mutation validates an export and counts
//! its rows; the CSV itself is streamed by `GET /exports/contacts.csv?spec=…` with the same
//! token.
//!
//! - [`spec`]: the export's parameters, carried in the URL (instances keep no state), and
//!   their validation, shared by the mutation and the download;
//! - [`columns`]: the allowed columns and how each renders a contact;
//! - [`download`]: the streaming handler;
//! - [`schema`]: the mutation.

pub mod columns;
pub mod download;
pub mod schema;
pub mod spec;
