use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Accounts {
    Table,
    Id,
    Name,
    LastConversationDisplayId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Users {
    Table,
    Id,
    Name,
    DisplayName,
    Email,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AccountUsers {
    Table,
    Id,
    AccountId,
    UserId,
    Role,
    Availability,
    AutoOffline,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(big_pk_auto(Accounts::Id))
                    .col(string(Accounts::Name))
                    .col(big_integer(Accounts::LastConversationDisplayId).default(0))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string(Users::Name))
                    .col(string_null(Users::DisplayName))
                    .col(string(Users::Email))
                    .col(string(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_email")
                    .table(Users::Table)
                    .col(Users::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AccountUsers::Table)
                    .col(big_pk_auto(AccountUsers::Id))
                    .col(big_integer(AccountUsers::AccountId))
                    .col(big_integer(AccountUsers::UserId))
                    .col(string_len(AccountUsers::Role, 32))
                    .col(string_len(AccountUsers::Availability, 32).default("online"))
                    .col(boolean(AccountUsers::AutoOffline).default(true))
                    .col(timestamp_with_time_zone(AccountUsers::CreatedAt))
                    .col(timestamp_with_time_zone(AccountUsers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_users_account_id")
                            .from(AccountUsers::Table, AccountUsers::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_users_user_id")
                            .from(AccountUsers::Table, AccountUsers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_users_account_id_user_id")
                    .table(AccountUsers::Table)
                    .col(AccountUsers::AccountId)
                    .col(AccountUsers::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_users_user_id")
                    .table(AccountUsers::Table)
                    .col(AccountUsers::UserId)
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AccountUsers::Table.into_iden(),
            Users::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
