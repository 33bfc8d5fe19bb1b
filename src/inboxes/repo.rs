//! Account-scoped inbox queries and writes.

use entity::inbox;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::{db, error::AppResult, validate};

/// The account's inboxes, by id.
pub async fn list(db: &impl ConnectionTrait, account_id: i64) -> AppResult<Vec<inbox::Model>> {
    Ok(inbox::Entity::find()
        .filter(inbox::Column::AccountId.eq(account_id))
        .order_by_asc(inbox::Column::Id)
        .all(db)
        .await?)
}

/// One inbox of the account.
pub async fn find(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
) -> AppResult<Option<inbox::Model>> {
    Ok(db::find_in_account(db, inbox::Column::AccountId, account_id, id).await?)
}

/// Creates an inbox.
pub async fn create(
    db: &impl ConnectionTrait,
    account_id: i64,
    name: &str,
    channel_type: &str,
) -> AppResult<inbox::Model> {
    let name = validate::required_string("name", name)?;
    let channel_type = validate::required_string("channelType", channel_type)?.to_lowercase();
    let now = crate::time::now();
    Ok(inbox::ActiveModel {
        account_id: Set(account_id),
        name: Set(name),
        channel_type: Set(channel_type),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
