//! Thin resolvers for conversations and widget tokens.

use async_graphql::{Context, ID, Object};

use super::{
    repo,
    types::{Conversation, ConversationConnection, ConversationStatus, CreateConversationInput},
    write,
};
use crate::{
    auth::guard::RoleGuard,
    context::ContextExt,
    error::AppResult,
    events::{ConversationChange, EventPayload},
    ids::parse_id,
    pagination::PageArgs,
};

/// Conversation queries.
#[derive(Default)]
pub struct ConversationQuery;

#[Object]
impl ConversationQuery {
    /// One conversation; null when absent or in another account.
    #[graphql(guard = "RoleGuard::Member")]
    async fn conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation's id.")] id: ID,
    ) -> AppResult<Option<Conversation>> {
        let viewer = ctx.member()?;
        let id = parse_id("id", &id)?;
        Ok(repo::find(ctx.db()?, viewer.account_id, id)
            .await?
            .map(Conversation))
    }

    /// The account's conversations, most recently active first, optionally narrowed by status,
    /// inbox and assignee.
    #[graphql(guard = "RoleGuard::Member")]
    #[allow(clippy::too_many_arguments)]
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only conversations with this status.")] status: Option<
            ConversationStatus,
        >,
        #[graphql(desc = "Only conversations of this inbox.")] inbox_id: Option<ID>,
        #[graphql(desc = "Only conversations assigned to this member.")] assignee_id: Option<ID>,
        #[graphql(desc = "Page size, reading forwards (default 15, at most 100).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size, reading backwards (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
    ) -> AppResult<ConversationConnection> {
        let viewer = ctx.member()?;
        let filter = repo::ConversationFilter {
            contact_id: None,
            inbox_id: inbox_id.map(|id| parse_id("inboxId", &id)).transpose()?,
            assignee_id: assignee_id
                .map(|id| parse_id("assigneeId", &id))
                .transpose()?,
            status: status.map(Into::into),
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = repo::page(ctx.db()?.clone(), viewer.account_id, filter, args);
        Ok(page.await?.into())
    }
}

/// Conversation mutations.
#[derive(Default)]
pub struct ConversationMutation;

#[Object]
impl ConversationMutation {
    /// Starts a conversation with a contact in an inbox, through the contact's contact inbox
    /// there (created when missing). Display ids are sequential per account. A blocked contact's
    /// conversation starts RESOLVED.
    #[graphql(guard = "RoleGuard::Member")]
    async fn create_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation.")] input: CreateConversationInput,
    ) -> AppResult<Conversation> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let (conversation, message) = write::create(&state.db, viewer, input).await?;
        tracing::info!(
            conversation_id = conversation.id,
            account_id = viewer.account_id,
            "conversation created"
        );
        let payload = EventPayload::ConversationCreated {
            conversation: Box::new(conversation.clone()),
        };
        state.bus.publish_to(viewer.account_id, payload).await;
        if let Some(message) = message {
            let payload = EventPayload::MessageCreated {
                message: Box::new(message),
                contact_id: conversation.contact_id,
            };
            state.bus.publish_to(viewer.account_id, payload).await;
        }
        Ok(Conversation(conversation))
    }

    /// Changes a conversation's status.
    #[graphql(guard = "RoleGuard::Member")]
    async fn update_conversation_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation's id.")] id: ID,
        #[graphql(desc = "The new status.")] status: ConversationStatus,
    ) -> AppResult<Conversation> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let id = parse_id("id", &id)?;
        let (conversation, changed) =
            write::set_status(&state.db, viewer.account_id, id, status.into()).await?;
        if changed {
            let payloads = [
                EventPayload::ConversationStatusChanged {
                    conversation: Box::new(conversation.clone()),
                },
                EventPayload::ConversationUpdated {
                    conversation: Box::new(conversation.clone()),
                    change: ConversationChange::Status,
                },
            ];
            for payload in payloads {
                state.bus.publish_to(viewer.account_id, payload).await;
            }
        }
        Ok(Conversation(conversation))
    }

    /// Assigns a conversation to a member of the account; a null assignee unassigns it.
    #[graphql(guard = "RoleGuard::Member")]
    async fn assign_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation's id.")] id: ID,
        #[graphql(desc = "The member to assign, or null to unassign.")] assignee_id: Option<ID>,
    ) -> AppResult<Conversation> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let id = parse_id("id", &id)?;
        let assignee_id = assignee_id
            .map(|id| parse_id("assigneeId", &id))
            .transpose()?;
        let (conversation, changed) =
            write::assign(&state.db, viewer.account_id, id, assignee_id).await?;
        if changed {
            let payload = EventPayload::ConversationUpdated {
                conversation: Box::new(conversation.clone()),
                change: ConversationChange::Assignee,
            };
            state.bus.publish_to(viewer.account_id, payload).await;
        }
        Ok(Conversation(conversation))
    }

    /// Replaces a conversation's labels (names are lower-cased; they need not be in the
    /// catalogue).
    #[graphql(guard = "RoleGuard::Member")]
    async fn set_conversation_labels(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation's id.")] id: ID,
        #[graphql(desc = "The complete new set of label names.")] labels: Vec<String>,
    ) -> AppResult<Conversation> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let id = parse_id("id", &id)?;
        let (conversation, changed) = write::set_labels(
            &state.db,
            viewer.account_id,
            id,
            &labels,
            &state.config.limits,
        )
        .await?;
        if changed {
            let payload = EventPayload::ConversationUpdated {
                conversation: Box::new(conversation.clone()),
                change: ConversationChange::Labels,
            };
            state.bus.publish_to(viewer.account_id, payload).await;
        }
        Ok(Conversation(conversation))
    }

    /// A token for the contact of a contact inbox (the chat widget's identity): it may post
    /// INCOMING messages and typing indicators to that contact inbox's conversations and
    /// subscribe to their events, nothing else.
    #[graphql(guard = "RoleGuard::Member")]
    async fn issue_contact_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact inbox the token speaks for.")] contact_inbox_id: ID,
    ) -> AppResult<String> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let id = parse_id("contactInboxId", &contact_inbox_id)?;
        let contact = repo::contact_viewer(&state.db, viewer.account_id, id).await?;
        let token = state.keys.issue_contact(&contact)?;
        Ok(token)
    }
}
