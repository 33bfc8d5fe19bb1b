//! Subscriptions of the realtime gateway (docs/design.md §3).

use async_graphql::{Context, ID, Json, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt, future};
use serde_json::Value;

use super::{events_for, room};
use crate::{
    auth::viewer::Viewer,
    context::ContextExt,
    conversations::types::Conversation,
    error::{AppError, AppResult},
    events::EventPayload,
    ids::parse_id,
    messages::types::{Message, TypingEvent},
};

/// An event with Chatwoot's RoomChannel name and payload shape.
#[derive(SimpleObject, Clone, Debug)]
pub struct RoomEvent {
    /// The RoomChannel event name, e.g. `message.created`, `presence.update`.
    pub event: String,
    /// The payload, shaped as Chatwoot's `push_event_data`.
    pub data: Json<Value>,
}

fn optional_id(field: &str, id: Option<&ID>) -> AppResult<Option<i64>> {
    id.map(|id| parse_id(field, id)).transpose()
}

/// Realtime subscriptions.
#[derive(Default)]
pub struct RealtimeSubscription;

#[Subscription]
impl RealtimeSubscription {
    /// Conversations created in the account (optionally in one inbox). Contacts receive their own.
    async fn conversation_created(
        &self,
        ctx: &Context<'_>,
        inbox_id: Option<ID>,
    ) -> Result<impl Stream<Item = Conversation> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let inbox_id = optional_id("inboxId", inbox_id.as_ref())?;
        Ok(events_for(ctx.state()?, viewer).filter_map(move |event| {
            future::ready(match &event.payload {
                EventPayload::ConversationCreated { conversation }
                    if inbox_id.is_none_or(|id| id == conversation.inbox_id) =>
                {
                    Some(Conversation((**conversation).clone()))
                }
                _ => None,
            })
        }))
    }

    /// Conversations whose status changed (optionally one conversation).
    async fn conversation_status_changed(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> Result<impl Stream<Item = Conversation> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let conversation_id = optional_id("conversationId", conversation_id.as_ref())?;
        Ok(events_for(ctx.state()?, viewer).filter_map(move |event| {
            future::ready(match &event.payload {
                EventPayload::ConversationStatusChanged { conversation }
                    if conversation_id.is_none_or(|id| id == conversation.id) =>
                {
                    Some(Conversation((**conversation).clone()))
                }
                _ => None,
            })
        }))
    }

    /// Conversations that changed: assignee, labels, status or contact (members only).
    async fn conversation_updated(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> Result<impl Stream<Item = Conversation> + use<>, AppError> {
        let viewer = ctx.member()?;
        let conversation_id = optional_id("conversationId", conversation_id.as_ref())?;
        Ok(
            events_for(ctx.state()?, Viewer::User(viewer)).filter_map(move |event| {
                future::ready(match &event.payload {
                    EventPayload::ConversationUpdated { conversation, .. }
                        if conversation_id.is_none_or(|id| id == conversation.id) =>
                    {
                        Some(Conversation((**conversation).clone()))
                    }
                    _ => None,
                })
            }),
        )
    }

    /// Messages created in the account (optionally in one conversation or inbox). Contacts
    /// receive the public messages of their own conversations.
    async fn message_created(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
        inbox_id: Option<ID>,
    ) -> Result<impl Stream<Item = Message> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let conversation_id = optional_id("conversationId", conversation_id.as_ref())?;
        let inbox_id = optional_id("inboxId", inbox_id.as_ref())?;
        Ok(events_for(ctx.state()?, viewer).filter_map(move |event| {
            future::ready(match &event.payload {
                EventPayload::MessageCreated { message, .. }
                    if conversation_id.is_none_or(|id| id == message.conversation_id)
                        && inbox_id.is_none_or(|id| id == message.inbox_id) =>
                {
                    Some(Message((**message).clone()))
                }
                _ => None,
            })
        }))
    }

    /// Messages changed in the account (optionally in one conversation).
    async fn message_updated(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> Result<impl Stream<Item = Message> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let conversation_id = optional_id("conversationId", conversation_id.as_ref())?;
        Ok(events_for(ctx.state()?, viewer).filter_map(move |event| {
            future::ready(match &event.payload {
                EventPayload::MessageUpdated { message, .. }
                    if conversation_id.is_none_or(|id| id == message.conversation_id) =>
                {
                    Some(Message((**message).clone()))
                }
                _ => None,
            })
        }))
    }

    /// Typing indicators of a conversation, never the viewer's own; private (note) typing
    /// never reaches the contact.
    async fn typing_status_changed(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> Result<impl Stream<Item = TypingEvent> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let conversation_id = parse_id("conversationId", &conversation_id)?;
        Ok(events_for(ctx.state()?, viewer).filter_map(move |event| {
            future::ready(
                TypingEvent::from_event(&event).filter(|t| t.conversation_id == conversation_id),
            )
        }))
    }

    /// Every event the viewer may receive, with Chatwoot's RoomChannel names and payloads: a
    /// drop-in for frontends written against ActionCable. A `presence.update` snapshot comes
    /// first.
    async fn room_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = RoomEvent> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let state = ctx.shared_state()?;
        let include_contacts = matches!(viewer, Viewer::User(_));
        let account_id = viewer.account_id();
        let events = events_for(&state, viewer);
        let first = crate::events::Event {
            account_id,
            payload: EventPayload::PresenceChanged,
        };
        let initial = futures_util::stream::once(future::ready(std::sync::Arc::new(first)));
        Ok(initial.chain(events).filter_map(move |event| {
            let state = state.clone();
            async move {
                match room::render(&state, &event, include_contacts).await {
                    Ok((event, data)) => Some(RoomEvent {
                        event,
                        data: Json(data),
                    }),
                    Err(err) => {
                        tracing::warn!(error = ?err, "room event rendering failed");
                        None
                    }
                }
            }
        }))
    }
}
