//! Managing the members of an account: changing a member's role, name or availability, and
//! removing them. Both keep at least one administrator in the account, also when two
//! administrators act at the same moment (see [`lock_memberships`]).

use entity::{
    account, account_user, conversation,
    enums::{Availability, Role},
    user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait, sea_query::Expr,
};

use super::repo::{get_member, member};
use crate::{
    error::{AppError, AppResult},
    validate,
};

/// Serialises every change of an account's memberships: the first statement of the
/// transaction writes the account row (without changing it), so a concurrent change waits for
/// this one to commit — on the row lock on PostgreSQL, on the write lock on SQLite, where a
/// transaction that writes first never holds a stale snapshot. Counting administrators after
/// this is therefore race-free: two administrators demoting each other at once cannot leave
/// the account without one.
pub async fn lock_memberships(txn: &impl ConnectionTrait, account_id: i64) -> AppResult<()> {
    let locked = account::Entity::update_many()
        .col_expr(
            account::Column::UpdatedAt,
            Expr::col(account::Column::UpdatedAt),
        )
        .filter(account::Column::Id.eq(account_id))
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(AppError::NotFound("account"));
    }
    Ok(())
}

/// The caller's administrator role, checked again under the lock: the request's own check came
/// before it, and a concurrent demotion may have committed since.
async fn still_administrator(
    db: &impl ConnectionTrait,
    account_id: i64,
    caller_id: i64,
) -> AppResult<()> {
    match member(db, account_id, caller_id).await? {
        Some((_, membership)) if membership.role == Role::Administrator => Ok(()),
        Some(_) => Err(AppError::Forbidden(
            "this operation needs the administrator role".into(),
        )),
        None => Err(AppError::Unauthenticated(
            "the user is no longer a member of this account".into(),
        )),
    }
}

async fn administrators(db: &impl ConnectionTrait, account_id: i64) -> AppResult<u64> {
    Ok(account_user::Entity::find()
        .filter(account_user::Column::AccountId.eq(account_id))
        .filter(account_user::Column::Role.eq(Role::Administrator))
        .count(db)
        .await?)
}

/// The changes `updateAgent` asks for (all optional).
#[derive(Debug, Default)]
pub struct AgentChanges<'a> {
    pub role: Option<Role>,
    pub name: Option<&'a str>,
    pub availability: Option<Availability>,
}

/// A member after `updateAgent`, and what changed that others must hear about.
pub struct Updated {
    pub user: user::Model,
    pub membership: account_user::Model,
    pub role_changed: bool,
    pub availability_changed: bool,
}

/// Changes a member of `account_id`, as administrator `caller_id`. The user's name is their own across accounts (as in
/// Chatwoot); role and availability are the membership's. NOT_FOUND for a user who is not a
/// member; CONFLICT when it would demote the last administrator.
pub async fn update(
    db: &impl TransactionTrait,
    account_id: i64,
    caller_id: i64,
    user_id: i64,
    changes: AgentChanges<'_>,
) -> AppResult<Updated> {
    let name = changes
        .name
        .map(|name| validate::required_string("name", name))
        .transpose()?;
    let txn = db.begin().await?;
    lock_memberships(&txn, account_id).await?;
    still_administrator(&txn, account_id, caller_id).await?;
    let (mut user, mut membership) = get_member(&txn, account_id, user_id).await?;
    let now = crate::time::now();
    let role_changed = changes.role.is_some_and(|role| role != membership.role);
    let availability_changed = changes
        .availability
        .is_some_and(|availability| availability != membership.availability);
    if role_changed
        && membership.role == Role::Administrator
        && administrators(&txn, account_id).await? <= 1
    {
        return Err(AppError::conflict(
            "role",
            "the last administrator of the account cannot be demoted",
        ));
    }
    if role_changed || availability_changed {
        let mut active: account_user::ActiveModel = membership.into();
        if let Some(role) = changes.role {
            active.role = Set(role);
        }
        if let Some(availability) = changes.availability {
            active.availability = Set(availability);
        }
        active.updated_at = Set(now);
        membership = active.update(&txn).await?;
    }
    if let Some(name) = name.filter(|name| *name != user.name) {
        let mut active: user::ActiveModel = user.into();
        active.name = Set(name);
        active.updated_at = Set(now);
        user = active.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(Updated {
        user,
        membership,
        role_changed,
        availability_changed,
    })
}

/// Removes a member from `account_id`, as administrator `caller_id` (the user themself stays, with their other accounts).
/// Their conversations in this account are unassigned, as Chatwoot does; the returned models
/// are those conversations, for their events. NOT_FOUND for a user who is not a member;
/// CONFLICT for the last administrator (who may not remove themself either).
pub async fn remove(
    db: &impl TransactionTrait,
    account_id: i64,
    caller_id: i64,
    user_id: i64,
) -> AppResult<Vec<conversation::Model>> {
    let txn = db.begin().await?;
    lock_memberships(&txn, account_id).await?;
    still_administrator(&txn, account_id, caller_id).await?;
    let (_, membership) = get_member(&txn, account_id, user_id).await?;
    if membership.role == Role::Administrator && administrators(&txn, account_id).await? <= 1 {
        return Err(AppError::conflict(
            "id",
            "the last administrator of the account cannot be removed",
        ));
    }
    account_user::Entity::delete_by_id(membership.id)
        .exec(&txn)
        .await?;
    let mut unassigned = conversation::Entity::find()
        .filter(conversation::Column::AccountId.eq(account_id))
        .filter(conversation::Column::AssigneeId.eq(user_id))
        .all(&txn)
        .await?;
    if !unassigned.is_empty() {
        let now = crate::time::now();
        conversation::Entity::update_many()
            .col_expr(conversation::Column::AssigneeId, Expr::value(None::<i64>))
            .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
            .filter(conversation::Column::AccountId.eq(account_id))
            .filter(conversation::Column::AssigneeId.eq(user_id))
            .exec(&txn)
            .await?;
        for conversation in &mut unassigned {
            conversation.assignee_id = None;
            conversation.updated_at = now;
        }
    }
    txn.commit().await?;
    Ok(unassigned)
}
