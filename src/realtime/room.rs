//! `roomEvents`: the bus's events with Chatwoot's RoomChannel names and payload shapes, for
//! frontends migrating off ActionCable. Payloads follow Chatwoot's `push_event_data`: enum
//! values as Chatwoot sends them (message types as integers), times as Unix seconds, a
//! conversation being named by its per-account display id (`id` in conversation and typing
//! payloads, `conversation_id` in message payloads), and every payload carrying the account id.
//!
//! Message and typing events name their conversation by record id only, so rendering them loads
//! the conversation (and, for messages, its contact inbox) through the shared dataloader, like
//! the senders. An event with a position is rendered once per process and shared by every
//! subscriber, live or replaying ([`render_shared`], `realtime/renders.rs`).

use std::sync::Arc;

use entity::{contact, conversation, enums::MessageType, message};
use sea_orm::ActiveEnum;
use serde_json::{Value, json};

use crate::{
    error::{AppError, AppResult},
    events::{ContactChange, ConversationChange, Event, EventPayload, Sender, Stamped},
    loaders::{ContactById, ContactInboxById, ConversationById, Member, load_error},
    presence,
    state::AppState,
};

fn message_type(kind: MessageType) -> u8 {
    match kind {
        MessageType::Incoming => 0,
        MessageType::Outgoing => 1,
        MessageType::Activity => 2,
        MessageType::Template => 3,
    }
}

/// A contact's `push_event_data`.
pub fn contact_data(contact: &contact::Model) -> Value {
    json!({
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "phone_number": contact.phone_number,
        "identifier": contact.identifier,
        "thumbnail": contact.avatar_url.clone().unwrap_or_default(),
        "additional_attributes": contact.additional_attributes,
        "custom_attributes": contact.custom_attributes,
        "type": "contact",
    })
}

async fn sender_data(state: &AppState, account_id: i64, sender: Option<Sender>) -> Value {
    let loaded = match sender {
        Some(Sender::User(user_id)) => state
            .loader
            .load_one(Member { account_id, user_id })
            .await
            .ok()
            .flatten()
            .map(|(user, membership)| {
                json!({
                    "id": user.id,
                    "name": user.name,
                    "available_name": user.display_name.clone().unwrap_or_else(|| user.name.clone()),
                    "availability_status": membership.availability.to_value(),
                    "type": "user",
                })
            }),
        Some(Sender::Contact(contact_id)) => {
            state.loader.load_one(ContactById { account_id, id: contact_id }).await.ok().flatten().map(|c| contact_data(&c))
        }
        None => None,
    };
    loaded.unwrap_or(Value::Null)
}

fn message_sender(message: &message::Model) -> Option<Sender> {
    match (message.sender_type, message.sender_id) {
        (Some(entity::enums::SenderType::User), Some(id)) => Some(Sender::User(id)),
        (Some(entity::enums::SenderType::Contact), Some(id)) => Some(Sender::Contact(id)),
        _ => None,
    }
}

/// The conversation a message or typing event of the account names by record id. An event whose
/// conversation is gone by now (deleted with its contact) is not rendered.
async fn load_conversation(
    state: &AppState,
    account_id: i64,
    id: i64,
) -> AppResult<conversation::Model> {
    state
        .loader
        .load_one(ConversationById { account_id, id })
        .await
        .map_err(load_error)?
        .ok_or(AppError::NotFound("conversation"))
}

/// The `source_id` of a conversation's contact inbox, or null.
async fn source_id(state: &AppState, account_id: i64, contact_inbox_id: Option<i64>) -> Value {
    let Some(id) = contact_inbox_id else {
        return Value::Null;
    };
    state
        .loader
        .load_one(ContactInboxById { account_id, id })
        .await
        .ok()
        .flatten()
        .map_or(Value::Null, |(contact_inbox, _)| {
            json!(contact_inbox.source_id)
        })
}

/// A message's `push_event_data`: `conversation_id` is the conversation's display id, and
/// `conversation` holds the fields of Chatwoot's `conversation_push_event_data` that Switchboard
/// has (no `unread_count`), plus the record id as `switchboard_id`.
async fn message_data(state: &AppState, message: &message::Model) -> AppResult<Value> {
    let sender = message_sender(message);
    let (conversation, sender_data) = tokio::join!(
        load_conversation(state, message.account_id, message.conversation_id),
        sender_data(state, message.account_id, sender),
    );
    let conversation = conversation?;
    let source_id = source_id(
        state,
        conversation.account_id,
        conversation.contact_inbox_id,
    )
    .await;
    Ok(json!({
        "id": message.id,
        "content": message.content,
        "account_id": message.account_id,
        "inbox_id": message.inbox_id,
        "conversation_id": conversation.display_id,
        "message_type": message_type(message.message_type),
        "content_type": "text",
        "content_attributes": message.content_attributes,
        "private": message.private,
        "created_at": message.created_at.timestamp(),
        "updated_at": message.updated_at.timestamp(),
        "sender_type": match sender { Some(Sender::User(_)) => "User", Some(Sender::Contact(_)) => "Contact", None => "" },
        "sender_id": message.sender_id,
        "sender": sender_data,
        "conversation": {
            "assignee_id": conversation.assignee_id,
            "last_activity_at": conversation.last_activity_at.timestamp(),
            "contact_inbox": { "source_id": source_id },
            "switchboard_id": conversation.id,
        },
    }))
}

async fn conversation_data(state: &AppState, conversation: &conversation::Model) -> Value {
    let assignee = match conversation.assignee_id {
        Some(id) => sender_data(state, conversation.account_id, Some(Sender::User(id))).await,
        None => Value::Null,
    };
    json!({
        "id": conversation.display_id,
        "switchboard_id": conversation.id,
        "account_id": conversation.account_id,
        "inbox_id": conversation.inbox_id,
        "status": conversation.status.to_value(),
        "contact_inbox": { "id": conversation.contact_inbox_id },
        "meta": {
            "sender": sender_data(state, conversation.account_id, Some(Sender::Contact(conversation.contact_id))).await,
            "assignee": assignee,
        },
        "custom_attributes": conversation.custom_attributes,
        "additional_attributes": conversation.additional_attributes,
        "created_at": conversation.created_at.timestamp(),
        "timestamp": conversation.last_activity_at.timestamp(),
    })
}

/// [`render`] of an event the viewer may receive, shared with every other subscriber of this
/// process when the event has a position (`realtime/renders.rs`); `None` when it cannot be
/// rendered (logged). A conversation that is gone is kept as `None`; a database error is not
/// kept, so the next subscriber tries again.
pub async fn render_shared(
    state: &AppState,
    event: &Stamped,
    include_contacts: bool,
) -> Option<Arc<(String, Value)>> {
    let render = || async {
        match render(state, event, include_contacts).await {
            Ok(rendered) => Ok(Some(Arc::new(rendered))),
            Err(err) => {
                tracing::warn!(error = ?err, "room event rendering failed");
                match err {
                    AppError::NotFound(_) => Ok(None),
                    _ => Err(()),
                }
            }
        }
    };
    match &event.position {
        // Retained events render the same for every viewer (`include_contacts` only shapes
        // presence snapshots, which have no position).
        Some(position) => state.room_renders.get_or_render(position, render).await,
        None => render().await.ok().flatten(),
    }
}

/// The RoomChannel name and payload of an event the viewer may receive. As Chatwoot's
/// `broadcast` does, the payload always carries the event's `account_id` (Chatwoot's dashboard
/// drops events whose `account_id` is not the current account).
pub async fn render(
    state: &AppState,
    event: &Event,
    include_contacts: bool,
) -> AppResult<(String, Value)> {
    let (name, mut data) = render_payload(state, event, include_contacts).await?;
    if let Value::Object(map) = &mut data {
        map.insert("account_id".into(), json!(event.account_id));
    }
    Ok((name, data))
}

async fn render_payload(
    state: &AppState,
    event: &Event,
    include_contacts: bool,
) -> AppResult<(String, Value)> {
    let account_id = event.account_id;
    Ok(match &event.payload {
        EventPayload::MessageCreated { message, .. } => (
            "message.created".into(),
            message_data(state, message).await?,
        ),
        EventPayload::MessageUpdated { message, .. } => (
            "message.updated".into(),
            message_data(state, message).await?,
        ),
        EventPayload::ConversationCreated { conversation } => (
            "conversation.created".into(),
            conversation_data(state, conversation).await,
        ),
        EventPayload::ConversationStatusChanged { conversation } => (
            "conversation.status_changed".into(),
            conversation_data(state, conversation).await,
        ),
        EventPayload::ConversationUpdated {
            conversation,
            change,
        } => {
            let name = match change {
                ConversationChange::Assignee => "assignee.changed",
                ConversationChange::Labels | ConversationChange::Status => "conversation.updated",
                ConversationChange::Contact => "conversation.contact_changed",
            };
            (name.into(), conversation_data(state, conversation).await)
        }
        EventPayload::Typing {
            conversation_id,
            typing,
            private,
            sender,
            ..
        } => {
            let name = if *typing {
                "conversation.typing_on"
            } else {
                "conversation.typing_off"
            };
            let (conversation, user) = tokio::join!(
                load_conversation(state, account_id, *conversation_id),
                sender_data(state, account_id, Some(*sender)),
            );
            let conversation = conversation?;
            // Chatwoot sends the whole conversation; its dashboard reads only the id.
            let data = json!({
                "conversation": { "id": conversation.display_id, "switchboard_id": conversation.id },
                "user": user,
                "is_private": private,
                "account_id": account_id,
            });
            (name.into(), data)
        }
        EventPayload::ContactChanged { kind, contact_id } => {
            let name = match kind {
                ContactChange::Created => "contact.created",
                ContactChange::Updated => "contact.updated",
                ContactChange::Merged => "contact.merged",
                ContactChange::Deleted => "contact.deleted",
            };
            let contact = match kind {
                ContactChange::Deleted => None,
                _ => state
                    .loader
                    .load_one(ContactById {
                        account_id,
                        id: *contact_id,
                    })
                    .await
                    .ok()
                    .flatten(),
            };
            let data = contact.map_or_else(
                || json!({ "id": contact_id, "account_id": account_id }),
                |c| contact_data(&c),
            );
            (name.into(), data)
        }
        EventPayload::AccessChanged { .. } => {
            return Err(crate::error::AppError::from(anyhow::anyhow!(
                "access events are internal and never rendered"
            )));
        }
        EventPayload::DataImportProgress { data_import } => (
            "data_import.progress".into(),
            json!({
                "id": data_import.id,
                "account_id": account_id,
                "status": data_import.status.to_value(),
                "total_records": data_import.total_records,
                "processed_records": data_import.processed_records,
                "created_records": data_import.created_records,
                "updated_records": data_import.updated_records,
                "failed_records": data_import.failed_records,
                "failure_reason": data_import.failure_reason,
            }),
        ),
        EventPayload::PresenceChanged => {
            let update =
                presence::snapshot(&state.db, &state.presence, account_id, include_contacts)
                    .await?;
            let users: serde_json::Map<String, Value> = update
                .users
                .iter()
                .map(|u| {
                    (
                        u.user_id.to_string(),
                        json!(format!("{:?}", u.availability).to_lowercase()),
                    )
                })
                .collect();
            let contacts: serde_json::Map<String, Value> = update
                .contacts
                .iter()
                .map(|c| (c.contact_id.to_string(), json!("online")))
                .collect();
            let mut data = json!({ "account_id": account_id, "users": users });
            if include_contacts {
                data["contacts"] = Value::Object(contacts);
            }
            ("presence.update".into(), data)
        }
    })
}
