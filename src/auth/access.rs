//! Access is what the database says now, not what a token once said.
//!
//! A token names a user (or a contact) and an account; the role it was issued with is a hint.
//! Every HTTP request and every websocket operation resolves the token's viewer through
//! [`current`], which reads the membership (or the contact inbox) from the database: a user
//! removed from the account is refused, a demoted one gets their new role.
//!
//! Changes of membership publish [`crate::events::EventPayload::AccessChanged`], so that open
//! websockets of that user re-check at once (and close with 4403 when access is gone).

use entity::{account_user, contact, contact_inbox};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::viewer::{Auth, ContactViewer, UserViewer, Viewer};
use crate::{app::AppState, error::AppError};

/// The viewer as the database has it now: the user's current role in the token's account, or
/// the contact's inbox still existing; UNAUTHENTICATED when access is gone.
pub async fn current(state: &AppState, viewer: Viewer) -> Result<Viewer, AppError> {
    match viewer {
        Viewer::User(user) => {
            let role = account_user::Entity::find()
                .select_only()
                .column(account_user::Column::Role)
                .filter(account_user::Column::AccountId.eq(user.account_id))
                .filter(account_user::Column::UserId.eq(user.user_id))
                .into_tuple::<entity::enums::Role>()
                .one(&state.db)
                .await?
                .ok_or_else(|| {
                    AppError::Unauthenticated(
                        "the user is no longer a member of this account".into(),
                    )
                })?;
            Ok(Viewer::User(UserViewer { role, ..user }))
        }
        Viewer::Contact(widget) => {
            let found = contact_inbox::Entity::find()
                .select_only()
                .column(contact_inbox::Column::Id)
                .inner_join(contact::Entity)
                .filter(contact_inbox::Column::Id.eq(widget.contact_inbox_id))
                .filter(contact_inbox::Column::ContactId.eq(widget.contact_id))
                .filter(contact::Column::AccountId.eq(widget.account_id))
                .into_tuple::<i64>()
                .one(&state.db)
                .await?;
            found
                .map(|_| Viewer::Contact(ContactViewer { ..widget }))
                .ok_or_else(|| AppError::Unauthenticated("the contact no longer exists".into()))
        }
    }
}

/// [`current`] applied to what the edge decoded: an authenticated viewer is re-read, anything
/// else passes through. A database failure refuses nothing silently: it is logged and the
/// request is refused as unauthenticated with a message saying access could not be checked.
pub async fn resolve(state: &AppState, auth: Auth) -> Auth {
    match auth {
        Auth::Authenticated(viewer) => match current(state, viewer).await {
            Ok(viewer) => Auth::Authenticated(viewer),
            Err(AppError::Internal(err)) => {
                tracing::error!(error = ?err, "access check failed");
                Auth::Refused("access could not be checked; try again".into())
            }
            Err(err) => Auth::Refused(err.message()),
        },
        other => other,
    }
}
