//! Access is what the database says now, not what a token once said.
//!
//! A token names a user (or a contact) and an account; the role it was issued with is a hint.
//! Every HTTP request and every websocket operation resolves the token's viewer through
//! [`current`], which reads the membership (or the contact inbox) from the database: a user
//! removed from the account is refused, a demoted one gets their new role.
//!
//! The answer is cached per process for at most `ACCESS_CACHE_TTL_MS` (see [`super::cache`]).
//! Changes of membership publish [`crate::events::EventPayload::AccessChanged`], so that open
//! websockets of that user re-check at once (and close with 4403 when access is gone).

use std::sync::Arc;

use entity::{account_user, contact, contact_inbox};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::{
    cache::{Access, AccessCache, Key},
    viewer::{Auth, ContactViewer, UserViewer, Viewer},
};
use crate::{
    error::AppError,
    events::{ContactChange, EventBus, EventPayload},
    state::AppState,
};

/// The viewer as the database has it now (or at most `ACCESS_CACHE_TTL_MS` ago, and never
/// across a change this process has heard of): the user's current role in the token's account,
/// or the contact's inbox still existing; UNAUTHENTICATED when access is gone.
pub async fn current(state: &AppState, viewer: Viewer) -> Result<Viewer, AppError> {
    let key = key_of(&viewer);
    let access = match state.access.get(key) {
        Some(access) => access,
        None => {
            let ticket = state.access.ticket();
            let access = read(state, &viewer).await?;
            state.access.put(key, access, ticket);
            access
        }
    };
    apply(viewer, access)
}

/// Like [`current`] but always from the database (and refreshing the cache): for a re-check
/// triggered by an `AccessChanged` event, which may arrive before this process's cache has
/// dropped the entry it invalidates.
pub async fn fresh(state: &AppState, viewer: Viewer) -> Result<Viewer, AppError> {
    let key = key_of(&viewer);
    let ticket = state.access.ticket();
    let access = read(state, &viewer).await?;
    state.access.put(key, access, ticket);
    apply(viewer, access)
}

fn key_of(viewer: &Viewer) -> Key {
    match viewer {
        Viewer::User(user) => Key::User {
            account_id: user.account_id,
            user_id: user.user_id,
        },
        Viewer::Contact(widget) => Key::Contact {
            account_id: widget.account_id,
            contact_id: widget.contact_id,
            contact_inbox_id: widget.contact_inbox_id,
        },
    }
}

fn apply(viewer: Viewer, access: Access) -> Result<Viewer, AppError> {
    match (viewer, access) {
        (Viewer::User(user), Access::Member(role)) => Ok(Viewer::User(UserViewer { role, ..user })),
        (Viewer::Contact(widget), Access::Contact) => {
            Ok(Viewer::Contact(ContactViewer { ..widget }))
        }
        (Viewer::User(_), _) => Err(AppError::Unauthenticated(
            "the user is no longer a member of this account".into(),
        )),
        (Viewer::Contact(_), _) => Err(AppError::Unauthenticated(
            "the contact no longer exists".into(),
        )),
    }
}

async fn read(state: &AppState, viewer: &Viewer) -> Result<Access, AppError> {
    match viewer {
        Viewer::User(user) => {
            let role = account_user::Entity::find()
                .select_only()
                .column(account_user::Column::Role)
                .filter(account_user::Column::AccountId.eq(user.account_id))
                .filter(account_user::Column::UserId.eq(user.user_id))
                .into_tuple::<entity::enums::Role>()
                .one(&state.db)
                .await?;
            Ok(role.map_or(Access::Gone, Access::Member))
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
            Ok(if found.is_some() {
                Access::Contact
            } else {
                Access::Gone
            })
        }
    }
}

/// Drops this process's cached access of a user at once (the instance that changed it must
/// not wait for its own event to come back through Redis), then tells every instance.
pub async fn changed(state: &AppState, account_id: i64, user_id: i64) {
    state.access.forget_user(account_id, user_id);
    let payload = EventPayload::AccessChanged { user_id };
    state.bus.publish_to(account_id, payload).await;
}

/// The one task per process that keeps the cache honest: it drops a user's entry when their
/// `AccessChanged` arrives (from this or any instance), a contact's when it is deleted or
/// merged away, and everything when it fell behind the bus and may have missed events.
pub fn spawn_invalidator(bus: &EventBus, cache: Arc<AccessCache>, shutdown: CancellationToken) {
    let mut events = bus.subscribe();
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => match &event.payload {
                    EventPayload::AccessChanged { user_id } => {
                        cache.forget_user(event.account_id, *user_id);
                    }
                    EventPayload::ContactChanged {
                        kind: ContactChange::Deleted | ContactChange::Merged,
                        contact_id,
                    } => cache.forget_contact(event.account_id, *contact_id),
                    _ => {}
                },
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "access cache fell behind the event bus; cleared");
                    cache.clear();
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
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
