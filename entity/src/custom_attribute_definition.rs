use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{AttributeDisplayType, AttributeModel};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "custom_attribute_definitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub attribute_key: String,
    pub attribute_display_name: String,
    pub attribute_display_type: AttributeDisplayType,
    pub attribute_model: AttributeModel,
    /// JSON array of allowed values (for `list` attributes).
    #[sea_orm(column_type = "JsonBinary")]
    pub attribute_values: Json,
    pub attribute_description: Option<String>,
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
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
