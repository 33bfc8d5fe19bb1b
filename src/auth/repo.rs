//! Account-scoped queries and writes for users and memberships.

use entity::{
    account, account_user,
    enums::{Availability, Role},
    user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};

use super::{password, viewer::UserViewer};
use crate::{
    error::{AppError, AppResult, unique_violation},
    validate,
};

/// A user by login email (case-insensitive).
pub async fn user_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?)
}

/// A user's membership of an account.
pub async fn membership(
    db: &impl ConnectionTrait,
    user_id: i64,
    account_id: i64,
) -> AppResult<Option<account_user::Model>> {
    Ok(account_user::Entity::find()
        .filter(account_user::Column::UserId.eq(user_id))
        .filter(account_user::Column::AccountId.eq(account_id))
        .one(db)
        .await?)
}

/// Every account a user belongs to, oldest membership first.
pub async fn memberships(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> AppResult<Vec<(account::Model, account_user::Model)>> {
    let rows = account_user::Entity::find()
        .filter(account_user::Column::UserId.eq(user_id))
        .order_by_asc(account_user::Column::Id)
        .find_also_related(account::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(membership, account)| Some((account?, membership)))
        .collect())
}

/// A member of the viewer's account.
pub async fn member(
    db: &impl ConnectionTrait,
    account_id: i64,
    user_id: i64,
) -> AppResult<Option<(user::Model, account_user::Model)>> {
    let row = account_user::Entity::find()
        .filter(account_user::Column::AccountId.eq(account_id))
        .filter(account_user::Column::UserId.eq(user_id))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    Ok(row.and_then(|(membership, user)| Some((user?, membership))))
}

/// Every member of an account, by id.
pub async fn members(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> AppResult<Vec<(user::Model, account_user::Model)>> {
    let rows = account_user::Entity::find()
        .filter(account_user::Column::AccountId.eq(account_id))
        .order_by_asc(account_user::Column::UserId)
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(membership, user)| Some((user?, membership)))
        .collect())
}

/// Checks email and password; on success returns the user and the membership the token is for.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
    account_id: Option<i64>,
) -> AppResult<(user::Model, account_user::Model)> {
    let user = user_by_email(db, email).await?;
    let ok = password::verify(
        password.to_owned(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let refused = || AppError::Unauthenticated("invalid email or password".into());
    let user = user.filter(|_| ok).ok_or_else(refused)?;
    let membership = match account_id {
        Some(account_id) => membership(db, user.id, account_id).await?,
        None => memberships(db, user.id)
            .await?
            .into_iter()
            .next()
            .map(|(_, m)| m),
    };
    let membership = membership.ok_or_else(|| {
        AppError::Unauthenticated("the user is not a member of that account".into())
    })?;
    Ok((user, membership))
}

/// Fields of a new user.
pub struct NewUser<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub role: Role,
}

/// Adds a member to an account: creates the user, or adds an existing user (same email).
pub async fn add_member(
    db: &impl TransactionTrait,
    account_id: i64,
    new: NewUser<'_>,
) -> AppResult<(user::Model, account_user::Model)> {
    let name = validate::required_string("name", new.name)?;
    let email = validate::email("email", new.email)?
        .ok_or_else(|| AppError::bad_input("email", "email is required"))?;
    let password_hash = if new.password.chars().count() < 8 {
        return Err(AppError::bad_input(
            "password",
            "password must have at least 8 characters",
        ));
    } else {
        password::hash(new.password.to_owned()).await?
    };
    let txn = db.begin().await?;
    let now = crate::time::now();
    let user = match user_by_email(&txn, &email).await? {
        Some(user) => user,
        None => user::ActiveModel {
            name: Set(name),
            email: Set(email),
            password_hash: Set(password_hash),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|err| unique_violation(err, "email", "a user with this email already exists"))?,
    };
    let membership = account_user::ActiveModel {
        account_id: Set(account_id),
        user_id: Set(user.id),
        role: Set(new.role),
        availability: Set(Availability::Online),
        auto_offline: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|err| {
        unique_violation(err, "email", "this user is already a member of the account")
    })?;
    txn.commit().await?;
    Ok((user, membership))
}

/// Creates an account with its first administrator, in one transaction.
pub async fn create_account(
    db: &impl TransactionTrait,
    name: &str,
    admin: NewUser<'_>,
) -> AppResult<(account::Model, user::Model)> {
    let name = validate::required_string("name", name)?;
    let txn = db.begin().await?;
    let now = crate::time::now();
    let account = account::ActiveModel {
        name: Set(name),
        last_conversation_display_id: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let (user, _) = add_member(
        &txn,
        account.id,
        NewUser {
            role: Role::Administrator,
            ..admin
        },
    )
    .await?;
    txn.commit().await?;
    Ok((account, user))
}

/// Sets the viewer's availability in their account.
pub async fn set_availability(
    db: &impl ConnectionTrait,
    viewer: UserViewer,
    availability: Availability,
) -> AppResult<(user::Model, account_user::Model)> {
    let (user, membership) = member(db, viewer.account_id, viewer.user_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let mut active: account_user::ActiveModel = membership.into();
    active.availability = Set(availability);
    active.updated_at = Set(crate::time::now());
    let membership = active.update(db).await?;
    Ok((user, membership))
}
