//! The filter's database reads: the account's contact attribute definitions its keys resolve
//! against, and the condition selecting the resolved contacts that match (used by
//! `filterContacts` and by exports, so both accept and refuse the same filters).

use entity::{custom_attribute_definition, enums::AttributeModel};
use sea_orm::{ConnectionTrait, DbBackend, sea_query::Condition};

use super::{ContactFilterCondition, build};
use crate::{
    attributes::repo as attributes, contacts::repo, error::AppResult, limits::InputLimits,
};

/// The account's definitions of contact attributes, which a filter's custom keys name.
pub async fn definitions(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> AppResult<Vec<custom_attribute_definition::Model>> {
    attributes::definitions(db, account_id, Some(AttributeModel::ContactAttribute)).await
}

/// The resolved contacts matching `conditions`, checked against `definitions`, as a condition
/// for a connection of `backend` (the account scope is the caller's).
pub fn matching(
    conditions: &[ContactFilterCondition],
    definitions: &[custom_attribute_definition::Model],
    backend: DbBackend,
    limits: &InputLimits,
) -> AppResult<Condition> {
    let today = chrono::Utc::now().date_naive();
    let mut condition = Condition::all().add(repo::resolved());
    if let Some(filter) = build(conditions, definitions, backend, today, limits)? {
        condition = condition.add(filter);
    }
    Ok(condition)
}

/// [`matching`], reading the account's definitions first.
pub async fn condition(
    db: &impl ConnectionTrait,
    account_id: i64,
    conditions: &[ContactFilterCondition],
    limits: &InputLimits,
) -> AppResult<Condition> {
    let definitions = definitions(db, account_id).await?;
    matching(conditions, &definitions, db.get_database_backend(), limits)
}
