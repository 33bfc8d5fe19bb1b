use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::ImportStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "data_imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub user_id: Option<i64>,
    #[sea_orm(default_value = "contacts")]
    pub data_type: String,
    pub status: ImportStatus,
    pub file_name: Option<String>,
    #[sea_orm(default_value = 0)]
    pub total_records: i64,
    #[sea_orm(default_value = 0)]
    pub processed_records: i64,
    #[sea_orm(default_value = 0)]
    pub created_records: i64,
    #[sea_orm(default_value = 0)]
    pub updated_records: i64,
    #[sea_orm(default_value = 0)]
    pub failed_records: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub failure_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub failed_rows_csv: Option<String>,
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
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    User,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
