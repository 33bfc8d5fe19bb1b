//! String-backed enums stored as `varchar(32)` columns.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[sea_orm(string_value = "administrator")]
    Administrator,
    #[sea_orm(string_value = "agent")]
    Agent,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    #[sea_orm(string_value = "online")]
    Online,
    #[sea_orm(string_value = "busy")]
    Busy,
    #[sea_orm(string_value = "offline")]
    Offline,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ContactType {
    #[sea_orm(string_value = "visitor")]
    Visitor,
    #[sea_orm(string_value = "lead")]
    Lead,
    #[sea_orm(string_value = "customer")]
    Customer,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "resolved")]
    Resolved,
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "snoozed")]
    Snoozed,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    #[sea_orm(string_value = "incoming")]
    Incoming,
    #[sea_orm(string_value = "outgoing")]
    Outgoing,
    #[sea_orm(string_value = "activity")]
    Activity,
    #[sea_orm(string_value = "template")]
    Template,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum SenderType {
    #[sea_orm(string_value = "user")]
    User,
    #[sea_orm(string_value = "contact")]
    Contact,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum AttributeDisplayType {
    #[sea_orm(string_value = "text")]
    Text,
    #[sea_orm(string_value = "number")]
    Number,
    #[sea_orm(string_value = "currency")]
    Currency,
    #[sea_orm(string_value = "percent")]
    Percent,
    #[sea_orm(string_value = "link")]
    Link,
    #[sea_orm(string_value = "date")]
    Date,
    #[sea_orm(string_value = "list")]
    List,
    #[sea_orm(string_value = "checkbox")]
    Checkbox,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum AttributeModel {
    #[sea_orm(string_value = "contact_attribute")]
    ContactAttribute,
    #[sea_orm(string_value = "conversation_attribute")]
    ConversationAttribute,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "processing")]
    Processing,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "failed")]
    Failed,
}
