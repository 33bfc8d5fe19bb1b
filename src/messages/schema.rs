//! Thin resolvers for messages and typing indicators.

use async_graphql::{Context, ID, Object};

use super::{
    types::{CreateMessageInput, Message},
    write,
};
use crate::{
    auth::guard::RoleGuard, context::ContextExt, error::AppResult, events::EventPayload,
    ids::parse_id,
};

/// Message mutations.
#[derive(Default)]
pub struct MessageMutation;

#[Object]
impl MessageMutation {
    /// Posts a message. Members may post any kind (sent as themselves); a contact token may post
    /// only public INCOMING messages to the conversations of its own contact inbox (sent as the
    /// contact). Marks the conversation, and for incoming messages the contact, active.
    async fn create_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message.")] input: CreateMessageInput,
    ) -> AppResult<Message> {
        let viewer = ctx.viewer()?;
        let state = ctx.state()?;
        let (message, conversation) = write::post(&state.db, viewer, input).await?;
        tracing::info!(
            message_id = message.id,
            conversation_id = conversation.id,
            account_id = conversation.account_id,
            "message created"
        );
        let payload = EventPayload::MessageCreated {
            message: Box::new(message.clone()),
            contact_id: conversation.contact_id,
        };
        state.bus.publish_to(conversation.account_id, payload).await;
        Ok(Message(message))
    }

    /// Edits a message's text.
    #[graphql(guard = "RoleGuard::Member")]
    async fn update_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message's id.")] id: ID,
        #[graphql(desc = "The new text (required, at most 150 000 characters).")] content: String,
    ) -> AppResult<Message> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let id = parse_id("id", &id)?;
        let (message, contact_id) =
            write::update_content(&state.db, viewer.account_id, id, &content).await?;
        let payload = EventPayload::MessageUpdated {
            message: Box::new(message.clone()),
            contact_id,
        };
        state.bus.publish_to(viewer.account_id, payload).await;
        Ok(Message(message))
    }

    /// Tells the others on a conversation that the viewer (a member, or the conversation's
    /// contact) started or stopped typing. `private`: a note for the team, never shown to the
    /// contact. Nothing is stored.
    async fn set_typing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation being typed in.")] conversation_id: ID,
        #[graphql(desc = "True when typing starts, false when it stops.")] typing: bool,
        #[graphql(
            desc = "A private note is being typed (members only; never shown to the contact).",
            default_with = "Some(false)"
        )]
        private: Option<bool>,
    ) -> AppResult<bool> {
        let viewer = ctx.viewer()?;
        let state = ctx.state()?;
        let conversation_id = parse_id("conversationId", &conversation_id)?;
        let private = private.unwrap_or(false);
        let payload = write::typing(&state.db, viewer, conversation_id, typing, private).await?;
        state.bus.publish_to(viewer.account_id(), payload).await;
        Ok(true)
    }
}
