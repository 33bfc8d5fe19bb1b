use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::ConversationStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    /// Per-account sequence number (unique with `account_id`).
    pub display_id: i64,
    pub inbox_id: i64,
    pub contact_id: i64,
    pub contact_inbox_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: ConversationStatus,
    #[sea_orm(column_type = "JsonBinary")]
    pub custom_attributes: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub additional_attributes: Json,
    pub snoozed_until: Option<DateTimeUtc>,
    pub last_activity_at: DateTimeUtc,
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
        belongs_to = "super::inbox::Entity",
        from = "Column::InboxId",
        to = "super::inbox::Column::Id",
        on_delete = "Cascade"
    )]
    Inbox,
    #[sea_orm(
        belongs_to = "super::contact::Entity",
        from = "Column::ContactId",
        to = "super::contact::Column::Id",
        on_delete = "Cascade"
    )]
    Contact,
    #[sea_orm(
        belongs_to = "super::contact_inbox::Entity",
        from = "Column::ContactInboxId",
        to = "super::contact_inbox::Column::Id",
        on_delete = "SetNull"
    )]
    ContactInbox,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::AssigneeId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    Assignee,
    #[sea_orm(has_many = "super::message::Entity")]
    Messages,
    #[sea_orm(has_many = "super::conversation_label::Entity")]
    ConversationLabels,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::inbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Inbox.def()
    }
}

impl Related<super::contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contact.def()
    }
}

impl Related<super::contact_inbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ContactInbox.def()
    }
}

/// The assignee.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assignee.def()
    }
}

impl Related<super::message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

impl Related<super::conversation_label::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ConversationLabels.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
