//! The `data_imports` rows: account-scoped reads, and the writes of the import's lifecycle.
//!
//! `updated_at` doubles as the lease of a running import: the process running it touches it at
//! least every [`super::lease::HEARTBEAT`], and an import left PENDING or PROCESSING with an
//! older `updated_at` than [`super::lease::LEASE`] is taken over by whichever instance claims it
//! first ([`claim`] is a conditional update, so only one does).

use chrono::{DateTime, Utc};
use entity::{data_import, enums::ImportStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};

use crate::{db, error::AppResult, time};

const RUNNING: [ImportStatus; 2] = [ImportStatus::Pending, ImportStatus::Processing];

/// A new PENDING import of a contacts file.
pub async fn create(
    db: &impl ConnectionTrait,
    account_id: i64,
    user_id: Option<i64>,
    file_name: Option<String>,
) -> Result<data_import::Model, DbErr> {
    let now = time::now();
    data_import::ActiveModel {
        account_id: Set(account_id),
        user_id: Set(user_id),
        data_type: Set("contacts".to_owned()),
        status: Set(ImportStatus::Pending),
        file_name: Set(file_name),
        total_records: Set(0),
        processed_records: Set(0),
        created_records: Set(0),
        updated_records: Set(0),
        failed_records: Set(0),
        failure_reason: Set(None),
        failed_rows_csv: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// An import of the account.
pub async fn find(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
) -> AppResult<Option<data_import::Model>> {
    Ok(db::find_in_account(db, data_import::Column::AccountId, account_id, id).await?)
}

/// Saves the state and counts of an import (and renews its lease). False when the row is gone
/// (its account was deleted).
pub async fn save(db: &impl ConnectionTrait, import: &data_import::Model) -> Result<bool, DbErr> {
    use data_import::Column as C;
    let result = data_import::Entity::update_many()
        .col_expr(C::Status, Expr::value(import.status))
        .col_expr(C::TotalRecords, Expr::value(import.total_records))
        .col_expr(C::ProcessedRecords, Expr::value(import.processed_records))
        .col_expr(C::CreatedRecords, Expr::value(import.created_records))
        .col_expr(C::UpdatedRecords, Expr::value(import.updated_records))
        .col_expr(C::FailedRecords, Expr::value(import.failed_records))
        .col_expr(C::FailureReason, Expr::value(import.failure_reason.clone()))
        .col_expr(C::UpdatedAt, Expr::value(import.updated_at))
        .filter(C::Id.eq(import.id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Renews the lease of a running import.
pub async fn touch(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    set_lease(db, id, time::now()).await
}

/// Gives up the lease at once (a graceful shutdown), so the next instance to look resumes it
/// without waiting for the lease to run out.
pub async fn release(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    set_lease(db, id, DateTime::<Utc>::UNIX_EPOCH).await
}

async fn set_lease(db: &impl ConnectionTrait, id: i64, at: DateTime<Utc>) -> Result<(), DbErr> {
    data_import::Entity::update_many()
        .col_expr(data_import::Column::UpdatedAt, Expr::value(at))
        .filter(data_import::Column::Id.eq(id))
        .filter(data_import::Column::Status.is_in(RUNNING))
        .exec(db)
        .await?;
    Ok(())
}

/// Imports left PENDING or PROCESSING whose lease ran out before `cutoff`.
pub async fn stale(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<Vec<data_import::Model>, DbErr> {
    data_import::Entity::find()
        .filter(data_import::Column::Status.is_in(RUNNING))
        .filter(data_import::Column::UpdatedAt.lt(cutoff))
        .all(db)
        .await
}

/// Takes over a stale import; false when another instance claimed it first.
pub async fn claim(
    db: &impl ConnectionTrait,
    id: i64,
    cutoff: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = data_import::Entity::update_many()
        .col_expr(data_import::Column::UpdatedAt, Expr::value(time::now()))
        .filter(data_import::Column::Id.eq(id))
        .filter(data_import::Column::Status.is_in(RUNNING))
        .filter(data_import::Column::UpdatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
