//! Thin resolvers for identity operations. They return the project's error type
//! (`Result<_, AppError>`, spelled out: async-graphql recognises a resolver's result by the
//! name `Result`, and the alias `AppResult` would need `AppError: Clone`).

use async_graphql::{Context, ID, Object};

use super::{
    access, agents,
    guard::RoleGuard,
    invitations,
    repo::{self, CreatedAgent, NewUser},
    types::{
        Account, AuthPayload, Availability, CreateAgentInput, Invitation, UpdateAgentInput, User,
    },
    viewer::UserViewer,
};
use crate::{
    context::ContextExt,
    error::AppError,
    events::{ConversationChange, EventPayload},
    ids::parse_id,
    state::AppState,
};

/// Identity queries.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The viewer, as a member of the token's account.
    async fn me(&self, ctx: &Context<'_>) -> Result<User, AppError> {
        let viewer = ctx.member()?;
        let (user, membership) = repo::member(ctx.db()?, viewer.account_id, viewer.user_id)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("the token's user no longer exists".into()))?;
        Ok(User::new(user, &membership))
    }

    /// Members of the viewer's account.
    #[graphql(guard = "RoleGuard::Member")]
    async fn agents(&self, ctx: &Context<'_>) -> Result<Vec<User>, AppError> {
        let viewer = ctx.member()?;
        let members = repo::members(ctx.db()?, viewer.account_id).await?;
        Ok(members
            .into_iter()
            .map(|(user, membership)| User::new(user, &membership))
            .collect())
    }

    /// The viewer's pending invitations to other accounts (from `createAgent` with their
    /// e-mail), oldest first. Any of the viewer's tokens sees them all.
    #[graphql(guard = "RoleGuard::Member")]
    async fn invitations(&self, ctx: &Context<'_>) -> Result<Vec<Invitation>, AppError> {
        let viewer = ctx.member()?;
        let pending = invitations::pending(ctx.db()?, viewer.user_id).await?;
        Ok(pending
            .into_iter()
            .map(|(invitation, account)| Invitation::new(&invitation, account))
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
    ) -> Result<AuthPayload, AppError> {
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

    /// Adds a member to the viewer's account. A new e-mail creates the user; the e-mail of an
    /// existing user invites them instead (they join with `acceptInvitation`), and the answer
    /// then echoes only this input, with an opaque id.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn create_agent(
        &self,
        ctx: &Context<'_>,
        input: CreateAgentInput,
    ) -> Result<User, AppError> {
        let viewer = ctx.admin()?;
        let state = ctx.state()?;
        let new = NewUser {
            name: &input.name,
            email: &input.email,
            password: &input.password,
            role: input.role.into(),
        };
        match repo::create_agent(&state.db, viewer.account_id, viewer.user_id, new).await? {
            CreatedAgent::Member(user, membership) => {
                tracing::info!(
                    user_id = user.id,
                    account_id = viewer.account_id,
                    "agent created"
                );
                // A cached refusal of an earlier membership must not outlive this one.
                membership_changed(state, viewer.account_id, user.id).await;
                Ok(User::new(user, &membership))
            }
            CreatedAgent::Invited {
                invitation,
                name,
                email,
            } => {
                tracing::info!(
                    invitation_id = invitation.id,
                    account_id = viewer.account_id,
                    "existing user invited"
                );
                Ok(User::invited(&invitation, name, email))
            }
        }
    }

    /// Changes a member of the viewer's account: role, name, availability. The last
    /// administrator cannot be demoted (CONFLICT). A new role applies to the member's open
    /// tokens at once.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn update_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's user id.")] id: ID,
        input: UpdateAgentInput,
    ) -> Result<User, AppError> {
        let viewer = ctx.admin()?;
        let state = ctx.state()?;
        let user_id = parse_id("id", &id)?;
        let changes = agents::AgentChanges {
            role: input.role.map(Into::into),
            name: input.name.as_deref(),
            availability: input.availability.map(Into::into),
        };
        let updated = agents::update(
            &state.db,
            viewer.account_id,
            viewer.user_id,
            user_id,
            changes,
        )
        .await?;
        if updated.role_changed {
            tracing::info!(
                user_id,
                account_id = viewer.account_id,
                role = ?updated.membership.role,
                "agent role changed"
            );
            access::changed(state, viewer.account_id, user_id).await;
        }
        if updated.availability_changed {
            state
                .bus
                .publish_to(viewer.account_id, EventPayload::PresenceChanged)
                .await;
        }
        Ok(User::new(updated.user, &updated.membership))
    }

    /// Removes a member from the viewer's account (the user keeps their other accounts); their
    /// conversations here are unassigned. The last administrator cannot be removed, not even
    /// by themself (CONFLICT). The member's tokens for this account stop working at once.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn remove_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's user id.")] id: ID,
    ) -> Result<ID, AppError> {
        let viewer = ctx.admin()?;
        let state = ctx.state()?;
        let user_id = parse_id("id", &id)?;
        let unassigned =
            agents::remove(&state.db, viewer.account_id, viewer.user_id, user_id).await?;
        tracing::info!(user_id, account_id = viewer.account_id, "agent removed");
        membership_changed(state, viewer.account_id, user_id).await;
        for conversation in unassigned {
            let payload = EventPayload::ConversationUpdated {
                conversation: Box::new(conversation),
                change: ConversationChange::Assignee,
            };
            state.bus.publish_to(viewer.account_id, payload).await;
        }
        Ok(id)
    }

    /// Accepts the viewer's invitation to an account: the viewer becomes a member with the
    /// invited role and may then `login(…, accountId)` into it. Any of the viewer's tokens
    /// will do. NOT_FOUND without a pending invitation.
    #[graphql(guard = "RoleGuard::Member")]
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account the invitation is for.")] account_id: ID,
    ) -> Result<Account, AppError> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let account_id = parse_id("accountId", &account_id)?;
        let (account, membership) =
            invitations::accept(&state.db, account_id, viewer.user_id).await?;
        tracing::info!(user_id = viewer.user_id, account_id, "invitation accepted");
        membership_changed(state, account_id, viewer.user_id).await;
        Ok(Account::new(account, &membership))
    }

    /// Sets the viewer's availability; subscribers of `presenceUpdated` see the change.
    #[graphql(guard = "RoleGuard::Member")]
    async fn set_availability(
        &self,
        ctx: &Context<'_>,
        availability: Availability,
    ) -> Result<User, AppError> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let (user, membership) =
            repo::set_availability(&state.db, viewer, availability.into()).await?;
        state
            .bus
            .publish_to(viewer.account_id, EventPayload::PresenceChanged)
            .await;
        Ok(User::new(user, &membership))
    }
}

/// A membership began or ended: the user's cached access goes at once, and the account's
/// `presenceUpdated` subscribers recompute (the members changed).
async fn membership_changed(state: &AppState, account_id: i64, user_id: i64) {
    access::changed(state, account_id, user_id).await;
    state
        .bus
        .publish_to(account_id, EventPayload::PresenceChanged)
        .await;
}
