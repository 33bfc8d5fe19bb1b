use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_accounts_users::{Accounts, Users};
use crate::m20261121_000002_inboxes_contacts::{ContactInboxes, Contacts, Inboxes};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    AccountId,
    DisplayId,
    InboxId,
    ContactId,
    ContactInboxId,
    AssigneeId,
    Status,
    CustomAttributes,
    AdditionalAttributes,
    SnoozedUntil,
    LastActivityAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConversationLabels {
    Table,
    ConversationId,
    Name,
    AccountId,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    AccountId,
    ConversationId,
    InboxId,
    Content,
    MessageType,
    Private,
    SenderType,
    SenderId,
    ContentAttributes,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // conversations
        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(big_pk_auto(Conversations::Id))
                    .col(big_integer(Conversations::AccountId))
                    .col(big_integer(Conversations::DisplayId))
                    .col(big_integer(Conversations::InboxId))
                    .col(big_integer(Conversations::ContactId))
                    .col(big_integer_null(Conversations::ContactInboxId))
                    .col(big_integer_null(Conversations::AssigneeId))
                    .col(string_len(Conversations::Status, 32).default("open"))
                    .col(json_binary(Conversations::CustomAttributes).default(Expr::cust("'{}'")))
                    .col(
                        json_binary(Conversations::AdditionalAttributes)
                            .default(Expr::cust("'{}'")),
                    )
                    .col(timestamp_with_time_zone_null(Conversations::SnoozedUntil))
                    .col(timestamp_with_time_zone(Conversations::LastActivityAt))
                    .col(timestamp_with_time_zone(Conversations::CreatedAt))
                    .col(timestamp_with_time_zone(Conversations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversations_account_id")
                            .from(Conversations::Table, Conversations::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversations_inbox_id")
                            .from(Conversations::Table, Conversations::InboxId)
                            .to(Inboxes::Table, Inboxes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversations_contact_id")
                            .from(Conversations::Table, Conversations::ContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversations_contact_inbox_id")
                            .from(Conversations::Table, Conversations::ContactInboxId)
                            .to(ContactInboxes::Table, ContactInboxes::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversations_assignee_id")
                            .from(Conversations::Table, Conversations::AssigneeId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversations_account_id_display_id")
                    .table(Conversations::Table)
                    .col(Conversations::AccountId)
                    .col(Conversations::DisplayId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversations_account_id_status_last_activity_at")
                    .table(Conversations::Table)
                    .col(Conversations::AccountId)
                    .col(Conversations::Status)
                    .col(Conversations::LastActivityAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversations_contact_id")
                    .table(Conversations::Table)
                    .col(Conversations::ContactId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversations_inbox_id")
                    .table(Conversations::Table)
                    .col(Conversations::InboxId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversations_assignee_id")
                    .table(Conversations::Table)
                    .col(Conversations::AssigneeId)
                    .to_owned(),
            )
            .await?;

        // conversation_labels
        manager
            .create_table(
                Table::create()
                    .table(ConversationLabels::Table)
                    .col(big_integer(ConversationLabels::ConversationId))
                    .col(string(ConversationLabels::Name))
                    .col(big_integer(ConversationLabels::AccountId))
                    .primary_key(
                        Index::create()
                            .col(ConversationLabels::ConversationId)
                            .col(ConversationLabels::Name),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversation_labels_conversation_id")
                            .from(
                                ConversationLabels::Table,
                                ConversationLabels::ConversationId,
                            )
                            .to(Conversations::Table, Conversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversation_labels_account_id")
                            .from(ConversationLabels::Table, ConversationLabels::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversation_labels_account_id_name")
                    .table(ConversationLabels::Table)
                    .col(ConversationLabels::AccountId)
                    .col(ConversationLabels::Name)
                    .to_owned(),
            )
            .await?;

        // messages
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(big_pk_auto(Messages::Id))
                    .col(big_integer(Messages::AccountId))
                    .col(big_integer(Messages::ConversationId))
                    .col(big_integer(Messages::InboxId))
                    .col(text_null(Messages::Content))
                    .col(string_len(Messages::MessageType, 32))
                    .col(boolean(Messages::Private).default(false))
                    .col(string_len_null(Messages::SenderType, 32))
                    .col(big_integer_null(Messages::SenderId))
                    .col(json_binary(Messages::ContentAttributes).default(Expr::cust("'{}'")))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .col(timestamp_with_time_zone(Messages::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_messages_account_id")
                            .from(Messages::Table, Messages::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_messages_conversation_id")
                            .from(Messages::Table, Messages::ConversationId)
                            .to(Conversations::Table, Conversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_conversation_id_id")
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_sender_type_sender_id")
                    .table(Messages::Table)
                    .col(Messages::SenderType)
                    .col(Messages::SenderId)
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Messages::Table.into_iden(),
            ConversationLabels::Table.into_iden(),
            Conversations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
