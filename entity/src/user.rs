use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    /// Stored lower-cased.
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::account_user::Entity")]
    AccountUsers,
    #[sea_orm(has_many = "super::note::Entity")]
    Notes,
    #[sea_orm(has_many = "super::data_import::Entity")]
    DataImports,
}

impl Related<super::account_user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AccountUsers.def()
    }
}

impl Related<super::note::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Notes.def()
    }
}

impl Related<super::data_import::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DataImports.def()
    }
}

/// Accounts the user belongs to, via `account_users`.
impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        super::account_user::Relation::Account.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::account_user::Relation::User.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
