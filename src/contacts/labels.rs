//! A contact's labels: a lower-cased set of names, set or added to by clients and unioned by a
//! merge (docs/design.md §5).

use entity::{contact, contact_label};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, TransactionSession,
    TransactionTrait, sea_query::OnConflict,
};

use super::repo;
use crate::{error::AppResult, limits::InputLimits, validate};

/// Normalised, de-duplicated label names.
fn label_names(labels: &[String]) -> AppResult<Vec<String>> {
    let mut names = Vec::with_capacity(labels.len());
    for label in labels {
        let name = validate::name("labels", label)?.to_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Gives a contact the labels it lacks among `names` (one statement; those it has stay).
pub(super) async fn add_labels(
    db: &impl ConnectionTrait,
    account_id: i64,
    contact_id: i64,
    names: Vec<String>,
) -> Result<(), DbErr> {
    if names.is_empty() {
        return Ok(());
    }
    let rows = names.into_iter().map(|name| contact_label::ActiveModel {
        contact_id: Set(contact_id),
        name: Set(name),
        account_id: Set(account_id),
    });
    contact_label::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                contact_label::Column::ContactId,
                contact_label::Column::Name,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Sets (`replace`) or adds to a contact's labels, in one transaction.
pub async fn set_labels(
    db: &impl TransactionTrait,
    account_id: i64,
    id: i64,
    labels: &[String],
    replace: bool,
    limits: &InputLimits,
) -> AppResult<contact::Model> {
    // Before anything else: the list bounds the work below and the rows of one INSERT.
    limits.list("labels", labels)?;
    let names = label_names(labels)?;
    let txn = db.begin().await?;
    let contact = repo::get(&txn, account_id, id).await?;
    if replace {
        contact_label::Entity::delete_many()
            .filter(contact_label::Column::ContactId.eq(id))
            .exec(&txn)
            .await?;
    }
    add_labels(&txn, account_id, id, names).await?;
    txn.commit().await?;
    Ok(contact)
}
