//! Typed access to what resolvers need from the GraphQL context.

use std::sync::Arc;

use async_graphql::{Context, dataloader::DataLoader};
use sea_orm::DatabaseConnection;

use crate::{
    auth::viewer::{Auth, ContactViewer, UserViewer, Viewer},
    error::AppError,
    loaders::DbLoader,
    state::AppState,
};

/// Read the context through these instead of `ctx.data::<T>()`.
pub trait ContextExt {
    fn state(&self) -> Result<&AppState, AppError>;
    /// The shared state itself, for subscription streams that outlive the resolver.
    fn shared_state(&self) -> Result<Arc<AppState>, AppError>;
    fn db(&self) -> Result<&DatabaseConnection, AppError> {
        Ok(&self.state()?.db)
    }
    /// The batching loader for parent→child fields.
    fn loader(&self) -> Result<&DataLoader<DbLoader>, AppError> {
        Ok(&self.state()?.loader)
    }
    /// The authenticated caller, or UNAUTHENTICATED.
    fn viewer(&self) -> Result<Viewer, AppError>;
    /// A member of an account (user token), or UNAUTHENTICATED / FORBIDDEN.
    fn member(&self) -> Result<UserViewer, AppError> {
        match self.viewer()? {
            Viewer::User(user) => Ok(user),
            Viewer::Contact(_) => Err(AppError::Forbidden(
                "this operation needs a user token".into(),
            )),
        }
    }
    /// An administrator of the account, or UNAUTHENTICATED / FORBIDDEN.
    fn admin(&self) -> Result<UserViewer, AppError> {
        let member = self.member()?;
        if member.is_admin() {
            Ok(member)
        } else {
            Err(AppError::Forbidden(
                "this operation needs the administrator role".into(),
            ))
        }
    }
    /// A contact holding a widget token, if that is who is asking.
    fn contact_viewer(&self) -> Option<ContactViewer> {
        match self.viewer() {
            Ok(Viewer::Contact(contact)) => Some(contact),
            _ => None,
        }
    }
}

impl ContextExt for Context<'_> {
    fn state(&self) -> Result<&AppState, AppError> {
        self.data::<Arc<AppState>>()
            .map(AsRef::as_ref)
            .map_err(|_| missing_state())
    }

    fn shared_state(&self) -> Result<Arc<AppState>, AppError> {
        self.data::<Arc<AppState>>()
            .cloned()
            .map_err(|_| missing_state())
    }

    fn viewer(&self) -> Result<Viewer, AppError> {
        match self.data_opt::<Auth>() {
            Some(Auth::Authenticated(viewer)) => Ok(*viewer),
            Some(Auth::Refused(reason)) => Err(AppError::Unauthenticated(reason.clone())),
            Some(Auth::Anonymous) | None => Err(AppError::Unauthenticated(
                "an access token is required".into(),
            )),
        }
    }
}

fn missing_state() -> AppError {
    AppError::from(anyhow::anyhow!(
        "application state missing from schema data"
    ))
}
