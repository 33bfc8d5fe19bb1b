use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_accounts_users::{Accounts, Users};
use crate::m20261121_000002_inboxes_contacts::Contacts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notes {
    Table,
    Id,
    AccountId,
    ContactId,
    UserId,
    Content,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CustomAttributeDefinitions {
    Table,
    Id,
    AccountId,
    AttributeKey,
    AttributeDisplayName,
    AttributeDisplayType,
    AttributeModel,
    AttributeValues,
    AttributeDescription,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DataImports {
    Table,
    Id,
    AccountId,
    UserId,
    DataType,
    Status,
    FileName,
    TotalRecords,
    ProcessedRecords,
    CreatedRecords,
    UpdatedRecords,
    FailedRecords,
    FailureReason,
    FailedRowsCsv,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // notes
        manager
            .create_table(
                Table::create()
                    .table(Notes::Table)
                    .col(big_pk_auto(Notes::Id))
                    .col(big_integer(Notes::AccountId))
                    .col(big_integer(Notes::ContactId))
                    .col(big_integer_null(Notes::UserId))
                    .col(text(Notes::Content))
                    .col(timestamp_with_time_zone(Notes::CreatedAt))
                    .col(timestamp_with_time_zone(Notes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notes_account_id")
                            .from(Notes::Table, Notes::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notes_contact_id")
                            .from(Notes::Table, Notes::ContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notes_user_id")
                            .from(Notes::Table, Notes::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notes_contact_id_created_at")
                    .table(Notes::Table)
                    .col(Notes::ContactId)
                    .col(Notes::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // custom_attribute_definitions
        manager
            .create_table(
                Table::create()
                    .table(CustomAttributeDefinitions::Table)
                    .col(big_pk_auto(CustomAttributeDefinitions::Id))
                    .col(big_integer(CustomAttributeDefinitions::AccountId))
                    .col(string(CustomAttributeDefinitions::AttributeKey))
                    .col(string(CustomAttributeDefinitions::AttributeDisplayName))
                    .col(string_len(
                        CustomAttributeDefinitions::AttributeDisplayType,
                        32,
                    ))
                    .col(string_len(CustomAttributeDefinitions::AttributeModel, 32))
                    .col(
                        json_binary(CustomAttributeDefinitions::AttributeValues)
                            .default(Expr::cust("'[]'")),
                    )
                    .col(string_null(
                        CustomAttributeDefinitions::AttributeDescription,
                    ))
                    .col(timestamp_with_time_zone(
                        CustomAttributeDefinitions::CreatedAt,
                    ))
                    .col(timestamp_with_time_zone(
                        CustomAttributeDefinitions::UpdatedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_custom_attribute_definitions_account_id")
                            .from(
                                CustomAttributeDefinitions::Table,
                                CustomAttributeDefinitions::AccountId,
                            )
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_custom_attribute_definitions_account_id_model_key")
                    .table(CustomAttributeDefinitions::Table)
                    .col(CustomAttributeDefinitions::AccountId)
                    .col(CustomAttributeDefinitions::AttributeModel)
                    .col(CustomAttributeDefinitions::AttributeKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // data_imports
        manager
            .create_table(
                Table::create()
                    .table(DataImports::Table)
                    .col(big_pk_auto(DataImports::Id))
                    .col(big_integer(DataImports::AccountId))
                    .col(big_integer_null(DataImports::UserId))
                    .col(string(DataImports::DataType).default("contacts"))
                    .col(string_len(DataImports::Status, 32))
                    .col(string_null(DataImports::FileName))
                    .col(big_integer(DataImports::TotalRecords).default(0))
                    .col(big_integer(DataImports::ProcessedRecords).default(0))
                    .col(big_integer(DataImports::CreatedRecords).default(0))
                    .col(big_integer(DataImports::UpdatedRecords).default(0))
                    .col(big_integer(DataImports::FailedRecords).default(0))
                    .col(text_null(DataImports::FailureReason))
                    .col(text_null(DataImports::FailedRowsCsv))
                    .col(timestamp_with_time_zone(DataImports::CreatedAt))
                    .col(timestamp_with_time_zone(DataImports::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_data_imports_account_id")
                            .from(DataImports::Table, DataImports::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_data_imports_user_id")
                            .from(DataImports::Table, DataImports::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_imports_account_id")
                    .table(DataImports::Table)
                    .col(DataImports::AccountId)
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DataImports::Table.into_iden(),
            CustomAttributeDefinitions::Table.into_iden(),
            Notes::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
