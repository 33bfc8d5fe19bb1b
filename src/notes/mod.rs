//! Notes: members' private notes about a contact (domain.md §8).

pub mod repo;
pub mod schema;
