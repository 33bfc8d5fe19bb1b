//! Invitations: how an administrator adds a user who already exists (`createAgent` with their
//! e-mail). The user learns of it through `invitations` and joins with `acceptInvitation`;
//! until then they are not a member, and the administrator learns nothing about them.

use entity::{account, account_user, enums::Role, invitation};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};

use super::{agents::lock_memberships, repo::insert_membership};
use crate::error::{AppError, AppResult, unique_violation};

/// Invites `user_id` to `account_id` with `role`, or updates the role of their pending
/// invitation (so inviting twice is harmless and the invitation keeps its id).
pub async fn invite(
    db: &impl ConnectionTrait,
    account_id: i64,
    user_id: i64,
    role: Role,
    invited_by: i64,
) -> AppResult<invitation::Model> {
    let pending = invitation::Entity::find()
        .filter(invitation::Column::AccountId.eq(account_id))
        .filter(invitation::Column::UserId.eq(user_id))
        .one(db)
        .await?;
    let model = match pending {
        Some(pending) => {
            let mut active: invitation::ActiveModel = pending.into();
            active.role = Set(role);
            active.invited_by = Set(Some(invited_by));
            active.update(db).await?
        }
        None => invitation::ActiveModel {
            account_id: Set(account_id),
            user_id: Set(user_id),
            role: Set(role),
            invited_by: Set(Some(invited_by)),
            created_at: Set(crate::time::now()),
            ..Default::default()
        }
        .insert(db)
        .await
        .map_err(|err| unique_violation(err, "email", "this user is already invited"))?,
    };
    Ok(model)
}

/// A user's pending invitations with their accounts, oldest first.
pub async fn pending(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> AppResult<Vec<(invitation::Model, account::Model)>> {
    let rows = invitation::Entity::find()
        .filter(invitation::Column::UserId.eq(user_id))
        .order_by_asc(invitation::Column::Id)
        .find_also_related(account::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(invitation, account)| Some((invitation, account?)))
        .collect())
}

/// Accepts the user's invitation to `account_id`: the membership is created with the invited
/// role and the invitation is gone, in one transaction. NOT_FOUND without an invitation.
pub async fn accept(
    db: &impl TransactionTrait,
    account_id: i64,
    user_id: i64,
) -> AppResult<(account::Model, account_user::Model)> {
    let txn = db.begin().await?;
    // Whether another account exists is none of the caller's business.
    lock_memberships(&txn, account_id)
        .await
        .map_err(|err| match err {
            AppError::NotFound(_) => AppError::NotFound("invitation"),
            other => other,
        })?;
    let invitation = invitation::Entity::find()
        .filter(invitation::Column::AccountId.eq(account_id))
        .filter(invitation::Column::UserId.eq(user_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("invitation"))?;
    let membership = insert_membership(&txn, account_id, user_id, invitation.role)
        .await
        .map_err(|err| {
            unique_violation(err, "accountId", "you are already a member of this account")
        })?;
    invitation::Entity::delete_by_id(invitation.id)
        .exec(&txn)
        .await?;
    let account = account::Entity::find_by_id(account_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("invitation"))?;
    txn.commit().await?;
    Ok((account, membership))
}
