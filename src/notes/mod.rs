//! Notes: members' private notes about a contact (docs/design.md §5).

pub mod repo;
pub mod schema;
pub mod types;
