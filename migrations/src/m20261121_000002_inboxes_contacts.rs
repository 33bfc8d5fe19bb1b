use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_accounts_users::Accounts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Inboxes {
    Table,
    Id,
    AccountId,
    Name,
    ChannelType,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Contacts {
    Table,
    Id,
    AccountId,
    Name,
    MiddleName,
    LastName,
    Email,
    PhoneNumber,
    Identifier,
    Blocked,
    ContactType,
    AvatarUrl,
    AdditionalAttributes,
    CustomAttributes,
    LastActivityAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum ContactInboxes {
    Table,
    Id,
    ContactId,
    InboxId,
    SourceId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Labels {
    Table,
    Id,
    AccountId,
    Title,
    Description,
    Color,
    ShowOnSidebar,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ContactLabels {
    Table,
    ContactId,
    Name,
    AccountId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // inboxes
        manager
            .create_table(
                Table::create()
                    .table(Inboxes::Table)
                    .col(big_pk_auto(Inboxes::Id))
                    .col(big_integer(Inboxes::AccountId))
                    .col(string(Inboxes::Name))
                    .col(string(Inboxes::ChannelType))
                    .col(timestamp_with_time_zone(Inboxes::CreatedAt))
                    .col(timestamp_with_time_zone(Inboxes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inboxes_account_id")
                            .from(Inboxes::Table, Inboxes::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_inboxes_account_id")
                    .table(Inboxes::Table)
                    .col(Inboxes::AccountId)
                    .to_owned(),
            )
            .await?;

        // contacts
        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(big_pk_auto(Contacts::Id))
                    .col(big_integer(Contacts::AccountId))
                    .col(string_null(Contacts::Name))
                    .col(string_null(Contacts::MiddleName))
                    .col(string_null(Contacts::LastName))
                    .col(string_null(Contacts::Email))
                    .col(string_null(Contacts::PhoneNumber))
                    .col(string_null(Contacts::Identifier))
                    .col(boolean(Contacts::Blocked).default(false))
                    .col(string_len(Contacts::ContactType, 32).default("visitor"))
                    .col(string_null(Contacts::AvatarUrl))
                    .col(json_binary(Contacts::AdditionalAttributes).default(Expr::cust("'{}'")))
                    .col(json_binary(Contacts::CustomAttributes).default(Expr::cust("'{}'")))
                    .col(timestamp_with_time_zone_null(Contacts::LastActivityAt))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .col(timestamp_with_time_zone(Contacts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contacts_account_id")
                            .from(Contacts::Table, Contacts::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "idx_contacts_account_id_phone_number",
                [Contacts::AccountId, Contacts::PhoneNumber].as_slice(),
                true,
            ),
            (
                "idx_contacts_account_id_identifier",
                [Contacts::AccountId, Contacts::Identifier].as_slice(),
                true,
            ),
            (
                "idx_contacts_account_id_last_activity_at_id",
                [Contacts::AccountId, Contacts::LastActivityAt, Contacts::Id].as_slice(),
                false,
            ),
            (
                "idx_contacts_account_id_created_at_id",
                [Contacts::AccountId, Contacts::CreatedAt, Contacts::Id].as_slice(),
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Contacts::Table);
            for col in cols {
                index.col(*col);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index).await?;
        }
        // Expression indexes: sea-query cannot express these; this SQL is
        // valid on both SQLite and PostgreSQL.
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX idx_contacts_account_id_lower_email \
             ON contacts (account_id, lower(email))",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX idx_contacts_account_id_lower_name \
             ON contacts (account_id, lower(name))",
        )
        .await?;

        // contact_inboxes
        manager
            .create_table(
                Table::create()
                    .table(ContactInboxes::Table)
                    .col(big_pk_auto(ContactInboxes::Id))
                    .col(big_integer(ContactInboxes::ContactId))
                    .col(big_integer(ContactInboxes::InboxId))
                    .col(string(ContactInboxes::SourceId))
                    .col(timestamp_with_time_zone(ContactInboxes::CreatedAt))
                    .col(timestamp_with_time_zone(ContactInboxes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contact_inboxes_contact_id")
                            .from(ContactInboxes::Table, ContactInboxes::ContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contact_inboxes_inbox_id")
                            .from(ContactInboxes::Table, ContactInboxes::InboxId)
                            .to(Inboxes::Table, Inboxes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_contact_inboxes_inbox_id_source_id")
                    .table(ContactInboxes::Table)
                    .col(ContactInboxes::InboxId)
                    .col(ContactInboxes::SourceId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_contact_inboxes_contact_id")
                    .table(ContactInboxes::Table)
                    .col(ContactInboxes::ContactId)
                    .to_owned(),
            )
            .await?;

        // contact_labels
        manager
            .create_table(
                Table::create()
                    .table(ContactLabels::Table)
                    .col(big_integer(ContactLabels::ContactId))
                    .col(string(ContactLabels::Name))
                    .col(big_integer(ContactLabels::AccountId))
                    .primary_key(
                        Index::create()
                            .col(ContactLabels::ContactId)
                            .col(ContactLabels::Name),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contact_labels_contact_id")
                            .from(ContactLabels::Table, ContactLabels::ContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contact_labels_account_id")
                            .from(ContactLabels::Table, ContactLabels::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_contact_labels_account_id_name_contact_id")
                    .table(ContactLabels::Table)
                    .col(ContactLabels::AccountId)
                    .col(ContactLabels::Name)
                    .col(ContactLabels::ContactId)
                    .to_owned(),
            )
            .await?;

        // labels
        manager
            .create_table(
                Table::create()
                    .table(Labels::Table)
                    .col(big_pk_auto(Labels::Id))
                    .col(big_integer(Labels::AccountId))
                    .col(string(Labels::Title))
                    .col(string_null(Labels::Description))
                    .col(string(Labels::Color).default("#1f93ff"))
                    .col(boolean(Labels::ShowOnSidebar).default(true))
                    .col(timestamp_with_time_zone(Labels::CreatedAt))
                    .col(timestamp_with_time_zone(Labels::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_labels_account_id")
                            .from(Labels::Table, Labels::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_labels_account_id_title")
                    .table(Labels::Table)
                    .col(Labels::AccountId)
                    .col(Labels::Title)
                    .unique()
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Labels::Table.into_iden(),
            ContactLabels::Table.into_iden(),
            ContactInboxes::Table.into_iden(),
            Contacts::Table.into_iden(),
            Inboxes::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
