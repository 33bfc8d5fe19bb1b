//! Subscriptions of the realtime gateway (docs/design.md §3).

use std::sync::Arc;

use async_graphql::{Context, ID, Json, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt, future};
use serde_json::Value;

use super::{
    gate::{Delivery, feed, keep},
    room,
};
use crate::{
    auth::viewer::Viewer,
    context::ContextExt,
    conversations::types::Conversation,
    error::{AppError, AppResult},
    events::{Event, EventPayload, Stamped},
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
    /// Where this event is in the account's stream: subscribe again with it as `after` to
    /// receive what follows. Presence and typing events carry the latest position before them.
    pub position: String,
}

fn optional_id(field: &str, id: Option<&ID>) -> AppResult<Option<i64>> {
    id.map(|id| parse_id(field, id)).transpose()
}

/// Room events rendered at once per subscriber (`roomEvents`): enough for one loader batch per
/// table to cover many replayed events, few enough that a subscriber's renders stay a small
/// share of the loader's batch (`loaders.rs`).
const ROOM_RENDER_CONCURRENCY: usize = 64;

/// Realtime subscriptions.
#[derive(Default)]
pub struct RealtimeSubscription;

#[Subscription]
impl RealtimeSubscription {
    /// Conversations created in the account (optionally in one inbox). Contacts receive their own.
    async fn conversation_created(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this inbox's.")] inbox_id: Option<ID>,
        #[graphql(
            desc = "A position received earlier (`RoomEvent.position`, `extensions.position`): the events after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<Conversation>> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let inbox_id = optional_id("inboxId", inbox_id.as_ref())?;
        let gate = feed(ctx, viewer, after.as_deref()).await?;
        Ok(keep(gate.into_stream(), move |delivery| {
            match &delivery.event.payload {
                EventPayload::ConversationCreated { conversation }
                    if inbox_id.is_none_or(|id| id == conversation.inbox_id) =>
                {
                    Some(Conversation((**conversation).clone()))
                }
                _ => None,
            }
        }))
    }

    /// Conversations whose status changed (optionally one conversation).
    async fn conversation_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this conversation's.")] conversation_id: Option<ID>,
        #[graphql(
            desc = "A position received earlier (`RoomEvent.position`, `extensions.position`): the events after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<Conversation>> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let conversation_id = optional_id("conversationId", conversation_id.as_ref())?;
        let gate = feed(ctx, viewer, after.as_deref()).await?;
        Ok(keep(gate.into_stream(), move |delivery| {
            match &delivery.event.payload {
                EventPayload::ConversationStatusChanged { conversation }
                    if conversation_id.is_none_or(|id| id == conversation.id) =>
                {
                    Some(Conversation((**conversation).clone()))
                }
                _ => None,
            }
        }))
    }

    /// Conversations that changed: assignee, labels, status or contact (members only).
    async fn conversation_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this conversation's.")] conversation_id: Option<ID>,
        #[graphql(
            desc = "A position received earlier (`RoomEvent.position`, `extensions.position`): the events after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<Conversation>> + use<>, AppError> {
        let viewer = ctx.member()?;
        let conversation_id = optional_id("conversationId", conversation_id.as_ref())?;
        let gate = feed(ctx, Viewer::User(viewer), after.as_deref()).await?;
        Ok(keep(gate.into_stream(), move |delivery| {
            match &delivery.event.payload {
                EventPayload::ConversationUpdated { conversation, .. }
                    if conversation_id.is_none_or(|id| id == conversation.id) =>
                {
                    Some(Conversation((**conversation).clone()))
                }
                _ => None,
            }
        }))
    }

    /// Messages created in the account (optionally in one conversation or inbox). Contacts
    /// receive the public messages of their own conversations.
    async fn message_created(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this conversation's.")] conversation_id: Option<ID>,
        #[graphql(desc = "Only this inbox's.")] inbox_id: Option<ID>,
        #[graphql(
            desc = "A position received earlier (`RoomEvent.position`, `extensions.position`): the events after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<Message>> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let conversation_id = optional_id("conversationId", conversation_id.as_ref())?;
        let inbox_id = optional_id("inboxId", inbox_id.as_ref())?;
        let gate = feed(ctx, viewer, after.as_deref()).await?;
        Ok(keep(gate.into_stream(), move |delivery| {
            match &delivery.event.payload {
                EventPayload::MessageCreated { message, .. }
                    if conversation_id.is_none_or(|id| id == message.conversation_id)
                        && inbox_id.is_none_or(|id| id == message.inbox_id) =>
                {
                    Some(Message((**message).clone()))
                }
                _ => None,
            }
        }))
    }

    /// Messages changed in the account (optionally in one conversation).
    async fn message_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this conversation's.")] conversation_id: Option<ID>,
        #[graphql(
            desc = "A position received earlier (`RoomEvent.position`, `extensions.position`): the events after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<Message>> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let conversation_id = optional_id("conversationId", conversation_id.as_ref())?;
        let gate = feed(ctx, viewer, after.as_deref()).await?;
        Ok(keep(gate.into_stream(), move |delivery| {
            match &delivery.event.payload {
                EventPayload::MessageUpdated { message, .. }
                    if conversation_id.is_none_or(|id| id == message.conversation_id) =>
                {
                    Some(Message((**message).clone()))
                }
                _ => None,
            }
        }))
    }

    /// Typing indicators of a conversation, never the viewer's own; private (note) typing
    /// never reaches the contact.
    async fn typing_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation.")] conversation_id: ID,
        #[graphql(
            desc = "A position received earlier (`RoomEvent.position`, `extensions.position`): the events after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<TypingEvent>> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let conversation_id = parse_id("conversationId", &conversation_id)?;
        let gate = feed(ctx, viewer, after.as_deref()).await?;
        Ok(keep(gate.into_stream(), move |delivery| {
            TypingEvent::from_event(&delivery.event)
                .filter(|t| t.conversation_id == conversation_id)
        }))
    }

    /// Every event the viewer may receive, with Chatwoot's RoomChannel names and payloads: a
    /// drop-in for frontends written against ActionCable. A `presence.update` snapshot comes
    /// first.
    async fn room_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "A position received earlier (`RoomEvent.position`, `extensions.position`): the events after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<RoomEvent>> + use<>, AppError> {
        let viewer = ctx.viewer()?;
        let state = ctx.shared_state()?;
        let include_contacts = matches!(viewer, Viewer::User(_));
        let gate = feed(ctx, viewer, after.as_deref()).await?;
        let presence = Delivery {
            event: Arc::new(Stamped {
                position: None,
                event: Event {
                    account_id: viewer.account_id(),
                    payload: EventPayload::PresenceChanged,
                },
            }),
            position: Some(gate.position().clone()),
        };
        let deliveries =
            futures_util::stream::once(future::ready(Ok(presence))).chain(gate.into_stream());
        // Rendered several at a time, in order: a replayed page is ready at once, and its
        // events' conversations, contact inboxes and senders then reach the shared loader
        // together (one statement per table for the lot) instead of one event after another,
        // each waiting out the loader's batching delay. Each retained event is rendered once
        // per process, whoever asks first (`realtime/renders.rs`).
        Ok(deliveries
            .map(move |delivery| {
                let state = state.clone();
                async move {
                    let delivery = match delivery {
                        Ok(delivery) => delivery,
                        Err(err) => return Some(Err(err)),
                    };
                    let rendered =
                        room::render_shared(&state, &delivery.event, include_contacts).await?;
                    let (event, data) = &*rendered;
                    Some(Ok(RoomEvent {
                        event: event.clone(),
                        data: Json(data.clone()),
                        position: delivery
                            .position
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                    }))
                }
            })
            .buffered(ROOM_RENDER_CONCURRENCY)
            .filter_map(future::ready))
    }
}
