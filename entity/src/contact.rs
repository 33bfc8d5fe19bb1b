use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::ContactType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    /// Unique per account, case-insensitively (`lower(email)` index).
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    #[sea_orm(default_value = false)]
    pub blocked: bool,
    pub contact_type: ContactType,
    pub avatar_url: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub additional_attributes: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub custom_attributes: Json,
    pub last_activity_at: Option<DateTimeUtc>,
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
    #[sea_orm(has_many = "super::contact_inbox::Entity")]
    ContactInboxes,
    #[sea_orm(has_many = "super::note::Entity")]
    Notes,
    #[sea_orm(has_many = "super::contact_label::Entity")]
    ContactLabels,
    #[sea_orm(has_many = "super::conversation::Entity")]
    Conversations,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::contact_inbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ContactInboxes.def()
    }
}

impl Related<super::note::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Notes.def()
    }
}

impl Related<super::contact_label::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ContactLabels.def()
    }
}

impl Related<super::conversation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Conversations.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
