//! Thin resolvers for contacts: the queries here, the mutations in `mutation.rs`, the
//! `contactChanged` subscription in `subscription.rs`.

mod mutation;
mod subscription;

use async_graphql::{Context, ID, Object};
use sea_orm::{ColumnTrait, Condition};

pub use mutation::ContactMutation;
pub use subscription::ContactSubscription;

use super::{
    filter::{self, ContactFilterCondition},
    repo,
    types::{Contact, ContactConnection, ContactSort},
};
use crate::{
    auth::guard::RoleGuard, context::ContextExt, error::AppResult, ids::parse_id,
    pagination::PageArgs, state::AppState,
};

/// Contact queries.
#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// One contact (resolved or not); null when absent or in another account.
    #[graphql(guard = "RoleGuard::Member")]
    async fn contact(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Contact>> {
        let viewer = ctx.member()?;
        let id = parse_id("id", &id)?;
        Ok(repo::find(ctx.db()?, viewer.account_id, id)
            .await?
            .map(Contact))
    }

    /// Resolved contacts (with an email, phone number or identifier), optionally those having
    /// any of `labels`. Default order: most recently active first.
    #[graphql(guard = "RoleGuard::Member")]
    #[allow(clippy::too_many_arguments)]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        sort: Option<ContactSort>,
        labels: Option<Vec<String>>,
    ) -> AppResult<ContactConnection> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let labels = labels.unwrap_or_default();
        // Each label is a bound parameter: unbounded, a list could exceed the database's
        // parameter limit (an internal error) or make a slow statement.
        state.config.limits.list("labels", &labels)?;
        let mut condition = repo::resolved();
        if !labels.is_empty() {
            condition = Condition::all()
                .add(condition)
                .add(repo::any_label(&labels));
        }
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        connection(state, viewer.account_id, condition, sort, args).await
    }

    /// Resolved contacts whose name, email, phone number or company contains `query` (ignoring
    /// case), or whose identifier contains it (exactly).
    #[graphql(guard = "RoleGuard::Member")]
    async fn search_contacts(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
        sort: Option<ContactSort>,
    ) -> AppResult<ContactConnection> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let search = repo::search(&query, state.db.get_database_backend())?;
        let condition = Condition::all().add(repo::resolved()).add(search);
        let args = PageArgs::forward(first, after);
        connection(state, viewer.account_id, condition, sort, args).await
    }

    /// Resolved contacts matching a segment filter (Chatwoot's contacts filter).
    #[graphql(guard = "RoleGuard::Member")]
    async fn filter_contacts(
        &self,
        ctx: &Context<'_>,
        filter: Vec<ContactFilterCondition>,
        first: Option<i32>,
        after: Option<String>,
        sort: Option<ContactSort>,
    ) -> AppResult<ContactConnection> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let condition =
            filter::condition(&state.db, viewer.account_id, &filter, &state.config.limits).await?;
        let args = PageArgs::forward(first, after);
        connection(state, viewer.account_id, condition, sort, args).await
    }

    /// Contacts online now (resolved or not).
    #[graphql(guard = "RoleGuard::Member")]
    async fn active_contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        sort: Option<ContactSort>,
    ) -> AppResult<ContactConnection> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let online = crate::presence::online_contacts(state, viewer.account_id).await?;
        let condition = Condition::all().add(entity::contact::Column::Id.is_in(online));
        let args = PageArgs::forward(first, after);
        connection(state, viewer.account_id, condition, sort, args).await
    }
}

/// A page of the account's contacts matching `condition`, as the connection clients read.
async fn connection(
    state: &AppState,
    account_id: i64,
    condition: Condition,
    sort: Option<ContactSort>,
    args: PageArgs,
) -> AppResult<ContactConnection> {
    let page = repo::page(state.db.clone(), account_id, condition, sort, args).await?;
    Ok(page.into())
}
