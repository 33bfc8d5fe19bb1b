//! Thin resolvers for identity operations.

use async_graphql::{Context, ID, Object, Result};

use super::{
    guard::RoleGuard,
    repo::{self, NewUser},
    types::{AuthPayload, Availability, CreateAgentInput, User},
    viewer::UserViewer,
};
use crate::{
    context::ContextExt,
    error::AppError,
    events::{Event, EventPayload},
    ids::parse_id,
};

/// Identity queries.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The viewer, as a member of the token's account.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let viewer = ctx.member()?;
        let (user, membership) = repo::member(ctx.db()?, viewer.account_id, viewer.user_id)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("the token's user no longer exists".into()))?;
        Ok(User::new(user, &membership))
    }

    /// Members of the viewer's account.
    #[graphql(guard = "RoleGuard::Member")]
    async fn agents(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let viewer = ctx.member()?;
        let members = repo::members(ctx.db()?, viewer.account_id).await?;
        Ok(members
            .into_iter()
            .map(|(user, membership)| User::new(user, &membership))
            .collect())
    }
}

/// Identity mutations.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Exchanges an email and password for a token scoped to one account (the given one, or the
    /// user's first).
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
        account_id: Option<ID>,
    ) -> Result<AuthPayload> {
        let state = ctx.state()?;
        let account_id = account_id
            .as_ref()
            .map(|id| parse_id("accountId", id))
            .transpose()?;
        let (user, membership) =
            repo::authenticate(&state.db, &email, &password, account_id).await?;
        let viewer = UserViewer {
            user_id: user.id,
            account_id: membership.account_id,
            role: membership.role,
        };
        let token = state.keys.issue_user(&viewer).map_err(AppError::from)?;
        tracing::info!(
            user_id = user.id,
            account_id = viewer.account_id,
            "user logged in"
        );
        Ok(AuthPayload {
            token,
            user: User::logged_in(user, &membership),
        })
    }

    /// Adds a member to the viewer's account.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn create_agent(&self, ctx: &Context<'_>, input: CreateAgentInput) -> Result<User> {
        let viewer = ctx.admin()?;
        let new = NewUser {
            name: &input.name,
            email: &input.email,
            password: &input.password,
            role: input.role.into(),
        };
        let (user, membership) = repo::add_member(ctx.db()?, viewer.account_id, new).await?;
        tracing::info!(
            user_id = user.id,
            account_id = viewer.account_id,
            "agent created"
        );
        Ok(User::new(user, &membership))
    }

    /// Sets the viewer's availability; subscribers of `presenceUpdated` see the change.
    #[graphql(guard = "RoleGuard::Member")]
    async fn set_availability(
        &self,
        ctx: &Context<'_>,
        availability: Availability,
    ) -> Result<User> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let (user, membership) =
            repo::set_availability(&state.db, viewer, availability.into()).await?;
        state
            .bus
            .publish(Event {
                account_id: viewer.account_id,
                payload: EventPayload::PresenceChanged,
            })
            .await;
        Ok(User::new(user, &membership))
    }
}
