//! Schema migrations for Switchboard. Append-only: never edit a migration
//! that has shipped; add a new one instead. Every migration must run on both
//! SQLite and PostgreSQL.

pub use sea_orm_migration;
use sea_orm_migration::prelude::*;

mod m20261121_000001_accounts_users;
mod m20261121_000002_inboxes_contacts;
mod m20261121_000003_conversations_messages;
mod m20261121_000004_notes_attributes_imports;
mod m20261122_000005_contact_search_indexes;
mod m20261122_000006_contact_attribute_terms_cost;
mod m20261201_000007_invitations;
mod m20261204_000008_event_outbox;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_accounts_users::Migration),
            Box::new(m20261121_000002_inboxes_contacts::Migration),
            Box::new(m20261121_000003_conversations_messages::Migration),
            Box::new(m20261121_000004_notes_attributes_imports::Migration),
            Box::new(m20261122_000005_contact_search_indexes::Migration),
            Box::new(m20261122_000006_contact_attribute_terms_cost::Migration),
            Box::new(m20261201_000007_invitations::Migration),
            Box::new(m20261204_000008_event_outbox::Migration),
        ]
    }
}
