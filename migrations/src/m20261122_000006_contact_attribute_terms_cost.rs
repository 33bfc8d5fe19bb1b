//! `switchboard_contact_attribute_terms()` (migration m20261122_000005) gets `COST 10` instead of
//! the default 100 (PostgreSQL; nothing on SQLite).
//!
//! The filter renders a custom text attribute's EQUAL_TO as the exact test AND a terms overlap
//! that the exact test implies. The planner cannot know that, so it multiplies their
//! selectivities — the overlap's, from the index statistics, with the 0.5 % it guesses for the
//! exact test — and expects few matches; with the default cost per call it then judged walking
//! the default-order index too expensive and started parallel workers for a 15-row page
//! (20–35 ms instead of 1–4 ms at a million contacts; plans in `bench/RESULTS-contacts.md`). At
//! 10 the exact test is still the cheaper condition, so it still runs first on each row.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("ALTER FUNCTION switchboard_contact_attribute_terms(jsonb) COST 10")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER FUNCTION switchboard_contact_attribute_terms(jsonb) COST 100",
            )
            .await?;
        Ok(())
    }
}
