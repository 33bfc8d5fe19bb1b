//! Pending invitations: an administrator who adds an existing user (by e-mail) to an account
//! invites them; they become a member only when they accept. One invitation per (account, user).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_accounts_users::{Accounts, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    AccountId,
    UserId,
    Role,
    InvitedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(big_pk_auto(Invitations::Id))
                    .col(big_integer(Invitations::AccountId))
                    .col(big_integer(Invitations::UserId))
                    .col(string_len(Invitations::Role, 32))
                    .col(big_integer_null(Invitations::InvitedBy))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_account_id")
                            .from(Invitations::Table, Invitations::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_user_id")
                            .from(Invitations::Table, Invitations::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_invited_by")
                            .from(Invitations::Table, Invitations::InvitedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_account_id_user_id")
                    .table(Invitations::Table)
                    .col(Invitations::AccountId)
                    .col(Invitations::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The invited user lists their invitations.
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_user_id")
                    .table(Invitations::Table)
                    .col(Invitations::UserId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invitations::Table).to_owned())
            .await
    }
}
