//! Message writes: posting (by a member or the contact), editing, and typing indicators.

use chrono::{DateTime, Utc};
use entity::{
    contact, conversation,
    enums::{MessageType, SenderType},
    message,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait, sea_query::Expr,
};
use serde_json::json;

use super::{repo, types::CreateMessageInput};
use crate::{
    auth::viewer::Viewer,
    conversations::repo as conversations,
    error::{AppError, AppResult},
    events::{self, EventPayload},
    ids::parse_id,
    time,
};

/// A message about to be written.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub content: String,
    pub message_type: MessageType,
    pub private: bool,
    pub sender: events::Sender,
}

/// Inserts a message into a conversation the caller has checked belongs to the account.
pub async fn insert(
    db: &impl ConnectionTrait,
    conversation: &conversation::Model,
    new: NewMessage,
    at: DateTime<Utc>,
) -> AppResult<message::Model> {
    let (sender_type, sender_id) = match new.sender {
        events::Sender::User(id) => (SenderType::User, id),
        events::Sender::Contact(id) => (SenderType::Contact, id),
    };
    Ok(message::ActiveModel {
        account_id: Set(conversation.account_id),
        conversation_id: Set(conversation.id),
        inbox_id: Set(conversation.inbox_id),
        content: Set(Some(new.content)),
        message_type: Set(new.message_type),
        private: Set(new.private),
        sender_type: Set(Some(sender_type)),
        sender_id: Set(Some(sender_id)),
        content_attributes: Set(json!({})),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Marks a conversation active at `at`; NOT_FOUND when it is gone.
async fn touch(
    db: &impl ConnectionTrait,
    conversation: &conversation::Model,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let result = conversation::Entity::update_many()
        .col_expr(conversation::Column::LastActivityAt, Expr::value(at))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(at))
        .filter(conversation::Column::Id.eq(conversation.id))
        .filter(conversation::Column::AccountId.eq(conversation.account_id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::NotFound("conversation"));
    }
    Ok(())
}

/// Refuses what a contact token may not post: anything but a public INCOMING message.
fn check_contact_may_post(
    viewer: &Viewer,
    message_type: MessageType,
    private: bool,
) -> AppResult<()> {
    if let Viewer::Contact(_) = viewer {
        if message_type != MessageType::Incoming {
            return Err(AppError::Forbidden(
                "a contact may post only INCOMING messages".into(),
            ));
        }
        if private {
            return Err(AppError::Forbidden(
                "a contact may not post private notes".into(),
            ));
        }
    }
    Ok(())
}

/// Posts a message as the viewer, and marks the conversation (and, for an incoming message, the
/// contact) active, in one transaction. Returns the message and its conversation as updated.
pub async fn post<C>(
    db: &C,
    viewer: Viewer,
    input: CreateMessageInput,
) -> AppResult<(message::Model, conversation::Model)>
where
    C: ConnectionTrait + TransactionTrait,
{
    let conversation_id = parse_id("conversationId", &input.conversation_id)?;
    let content = repo::content("content", &input.content)?;
    let message_type: MessageType = input.message_type.into();
    check_contact_may_post(&viewer, message_type, input.private)?;
    let mut conversation = conversations::accessible(db, &viewer, conversation_id).await?;
    let new = NewMessage {
        content,
        message_type,
        private: input.private,
        sender: conversations::sender(&viewer, &conversation),
    };
    let now = time::now();
    let txn = db.begin().await?;
    // Writing first makes SQLite take its write lock at once instead of failing to upgrade a
    // read snapshot when another writer got in between.
    touch(&txn, &conversation, now).await?;
    let message = insert(&txn, &conversation, new, now).await?;
    if message_type == MessageType::Incoming {
        contact::Entity::update_many()
            .col_expr(contact::Column::LastActivityAt, Expr::value(now))
            .filter(contact::Column::Id.eq(conversation.contact_id))
            .filter(contact::Column::AccountId.eq(conversation.account_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    conversation.last_activity_at = now;
    conversation.updated_at = now;
    Ok((message, conversation))
}

/// Changes a message's text. Returns the message and its conversation's contact id.
pub async fn update_content(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
    text: &str,
) -> AppResult<(message::Model, i64)> {
    let text = repo::content("content", text)?;
    let current = repo::get(db, account_id, id).await?;
    let conversation = conversations::get(db, account_id, current.conversation_id).await?;
    let mut model: message::ActiveModel = current.into();
    model.content = Set(Some(text));
    model.updated_at = Set(time::now());
    Ok((model.update(db).await?, conversation.contact_id))
}

/// The typing indicator the viewer sends in a conversation it may post in. A contact cannot
/// type a private note.
pub async fn typing(
    db: &impl ConnectionTrait,
    viewer: Viewer,
    conversation_id: i64,
    typing: bool,
    private: bool,
) -> AppResult<EventPayload> {
    if matches!(viewer, Viewer::Contact(_)) && private {
        return Err(AppError::Forbidden(
            "a contact may not type private notes".into(),
        ));
    }
    let conversation = conversations::accessible(db, &viewer, conversation_id).await?;
    Ok(EventPayload::Typing {
        conversation_id: conversation.id,
        contact_id: conversation.contact_id,
        typing,
        private,
        sender: conversations::sender(&viewer, &conversation),
    })
}
