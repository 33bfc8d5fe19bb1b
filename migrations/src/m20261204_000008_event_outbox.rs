//! The event outbox: events whose change committed while Redis could not take them wait here,
//! in order, until the publisher can append them to their account's history
//! (`src/events/outbox.rs`). Usually empty. No foreign key: an event of an account deleted in
//! the meantime is still delivered (to nobody) and then removed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EventOutbox {
    Table,
    Id,
    AccountId,
    Payload,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventOutbox::Table)
                    .col(big_pk_auto(EventOutbox::Id))
                    .col(big_integer(EventOutbox::AccountId))
                    .col(text(EventOutbox::Payload))
                    .col(timestamp_with_time_zone(EventOutbox::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventOutbox::Table).to_owned())
            .await
    }
}
