use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// Per-account counter used to allocate `conversations.display_id`.
    #[sea_orm(default_value = 0)]
    pub last_conversation_display_id: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::account_user::Entity")]
    AccountUsers,
    #[sea_orm(has_many = "super::inbox::Entity")]
    Inboxes,
    #[sea_orm(has_many = "super::contact::Entity")]
    Contacts,
    #[sea_orm(has_many = "super::conversation::Entity")]
    Conversations,
    #[sea_orm(has_many = "super::label::Entity")]
    Labels,
    #[sea_orm(has_many = "super::custom_attribute_definition::Entity")]
    CustomAttributeDefinitions,
    #[sea_orm(has_many = "super::data_import::Entity")]
    DataImports,
}

impl Related<super::account_user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AccountUsers.def()
    }
}

impl Related<super::inbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Inboxes.def()
    }
}

impl Related<super::contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contacts.def()
    }
}

impl Related<super::conversation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Conversations.def()
    }
}

impl Related<super::label::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Labels.def()
    }
}

impl Related<super::custom_attribute_definition::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomAttributeDefinitions.def()
    }
}

impl Related<super::data_import::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DataImports.def()
    }
}

/// Account members, via `account_users`.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        super::account_user::Relation::User.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::account_user::Relation::Account.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
