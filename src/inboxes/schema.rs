//! Thin resolvers for inboxes.

use async_graphql::{Context, ID, Object};

use super::{
    repo,
    types::{CreateInboxInput, Inbox},
};
use crate::{auth::guard::RoleGuard, context::ContextExt, error::AppResult, ids::parse_id};

/// Inbox queries.
#[derive(Default)]
pub struct InboxQuery;

#[Object]
impl InboxQuery {
    /// The account's inboxes.
    #[graphql(guard = "RoleGuard::Member")]
    async fn inboxes(&self, ctx: &Context<'_>) -> AppResult<Vec<Inbox>> {
        let viewer = ctx.member()?;
        Ok(repo::list(ctx.db()?, viewer.account_id)
            .await?
            .into_iter()
            .map(Inbox::from)
            .collect())
    }

    /// One inbox of the account; null when absent or in another account.
    #[graphql(guard = "RoleGuard::Member")]
    async fn inbox(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Inbox>> {
        let viewer = ctx.member()?;
        let id = parse_id("id", &id)?;
        Ok(repo::find(ctx.db()?, viewer.account_id, id)
            .await?
            .map(Inbox::from))
    }
}

/// Inbox mutations.
#[derive(Default)]
pub struct InboxMutation;

#[Object]
impl InboxMutation {
    /// Creates an inbox in the viewer's account.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn create_inbox(&self, ctx: &Context<'_>, input: CreateInboxInput) -> AppResult<Inbox> {
        let viewer = ctx.admin()?;
        let inbox = repo::create(
            ctx.db()?,
            viewer.account_id,
            &input.name,
            &input.channel_type,
        )
        .await?;
        tracing::info!(
            inbox_id = inbox.id,
            account_id = viewer.account_id,
            "inbox created"
        );
        Ok(inbox.into())
    }
}
