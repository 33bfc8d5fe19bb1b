use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{MessageType, SenderType};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    /// Denormalised from the conversation; no foreign key.
    pub inbox_id: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub content: Option<String>,
    pub message_type: MessageType,
    #[sea_orm(default_value = false)]
    pub private: bool,
    pub sender_type: Option<SenderType>,
    /// Polymorphic: a user id or a contact id depending on `sender_type`.
    pub sender_id: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub content_attributes: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id",
        on_delete = "Cascade"
    )]
    Account,
    #[sea_orm(
        belongs_to = "super::conversation::Entity",
        from = "Column::ConversationId",
        to = "super::conversation::Column::Id",
        on_delete = "Cascade"
    )]
    Conversation,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::conversation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Conversation.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
