//! Account-scoped queries and writes for users and memberships.

use entity::{
    account, account_user,
    enums::{Availability, Role},
    invitation, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionSession, TransactionTrait,
};

use super::{invitations, password, viewer::UserViewer};
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

/// A member of the account, or NOT_FOUND (`user`).
pub async fn get_member(
    db: &impl ConnectionTrait,
    account_id: i64,
    user_id: i64,
) -> AppResult<(user::Model, account_user::Model)> {
    member(db, account_id, user_id)
        .await?
        .ok_or(AppError::NotFound("user"))
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

/// A new user's fields, validated and normalised, with the password hashed.
struct Checked {
    name: String,
    email: String,
    password_hash: String,
    role: Role,
}

/// Validates a new user's fields and hashes the password. The password is checked and hashed
/// whether or not the e-mail belongs to an existing user, so neither the answer nor its timing
/// says which.
async fn check(new: NewUser<'_>) -> AppResult<Checked> {
    let name = validate::required_string("name", new.name)?;
    let email = validate::email("email", new.email)?
        .ok_or_else(|| AppError::bad_input("email", "email is required"))?;
    if new.password.chars().count() < 8 {
        return Err(AppError::bad_input(
            "password",
            "password must have at least 8 characters",
        ));
    }
    let password_hash = password::hash(new.password.to_owned()).await?;
    Ok(Checked {
        name,
        email,
        password_hash,
        role: new.role,
    })
}

async fn insert_user(txn: &impl ConnectionTrait, checked: &Checked) -> AppResult<user::Model> {
    let now = crate::time::now();
    user::ActiveModel {
        name: Set(checked.name.clone()),
        email: Set(checked.email.clone()),
        password_hash: Set(checked.password_hash.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|err| unique_violation(err, "email", "a user with this email already exists"))
}

/// A new membership, online and going offline by itself (an accepted invitation's too).
pub(super) async fn insert_membership(
    txn: &impl ConnectionTrait,
    account_id: i64,
    user_id: i64,
    role: Role,
) -> Result<account_user::Model, DbErr> {
    let now = crate::time::now();
    account_user::ActiveModel {
        account_id: Set(account_id),
        user_id: Set(user_id),
        role: Set(role),
        availability: Set(Availability::Online),
        auto_offline: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
}

fn already_member(err: DbErr) -> AppError {
    unique_violation(err, "email", "this user is already a member of the account")
}

/// Adds a member to an account: creates the user, or adds an existing user (same email)
/// directly. Only for operators (`create-account`); `createAgent` goes through
/// [`create_agent`], which invites existing users instead.
pub async fn add_member(
    db: &impl TransactionTrait,
    account_id: i64,
    new: NewUser<'_>,
) -> AppResult<(user::Model, account_user::Model)> {
    let checked = check(new).await?;
    let txn = db.begin().await?;
    let user = match user_by_email(&txn, &checked.email).await? {
        Some(user) => user,
        None => insert_user(&txn, &checked).await?,
    };
    let membership = insert_membership(&txn, account_id, user.id, checked.role)
        .await
        .map_err(already_member)?;
    txn.commit().await?;
    Ok((user, membership))
}

/// What `createAgent` did.
pub enum CreatedAgent {
    /// A new user, now a member.
    Member(user::Model, account_user::Model),
    /// The e-mail belongs to an existing user, who is invited. Carries the invitation and the
    /// caller's own (normalised) name and e-mail — nothing of the existing user.
    Invited {
        invitation: invitation::Model,
        name: String,
        email: String,
    },
}

/// `createAgent`: creates a new user as a member of `account_id`, or, when the e-mail belongs
/// to an existing user, invites them (their password and name stay theirs). CONFLICT when they
/// are a member already.
pub async fn create_agent(
    db: &impl TransactionTrait,
    account_id: i64,
    invited_by: i64,
    new: NewUser<'_>,
) -> AppResult<CreatedAgent> {
    let checked = check(new).await?;
    let txn = db.begin().await?;
    let created = match user_by_email(&txn, &checked.email).await? {
        Some(user) => {
            if membership(&txn, user.id, account_id).await?.is_some() {
                return Err(AppError::conflict(
                    "email",
                    "this user is already a member of the account",
                ));
            }
            let invitation =
                invitations::invite(&txn, account_id, user.id, checked.role, invited_by).await?;
            CreatedAgent::Invited {
                invitation,
                name: checked.name,
                email: checked.email,
            }
        }
        None => {
            let user = insert_user(&txn, &checked).await?;
            let membership = insert_membership(&txn, account_id, user.id, checked.role)
                .await
                .map_err(already_member)?;
            CreatedAgent::Member(user, membership)
        }
    };
    txn.commit().await?;
    Ok(created)
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
    let (user, membership) = get_member(db, viewer.account_id, viewer.user_id).await?;
    let mut active: account_user::ActiveModel = membership.into();
    active.availability = Set(availability);
    active.updated_at = Set(crate::time::now());
    let membership = active.update(db).await?;
    Ok((user, membership))
}
