//! Conversation writes: creation (with its contact inbox, display id and first message),
//! status, assignment and labels.

use std::collections::BTreeSet;

use entity::{
    account, contact_inbox, conversation, conversation_label,
    enums::{ConversationStatus, MessageType},
    message,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::json;

use super::{repo, types::CreateConversationInput};
use crate::{
    auth::{repo as auth, viewer::UserViewer},
    contacts::{repo as contacts, write as contact_write},
    error::{AppError, AppResult},
    events::Sender,
    ids::parse_id,
    messages::{
        repo as messages,
        write::{self as message_write, NewMessage},
    },
    time, validate,
};

/// Takes the account's next conversation display id. As an `UPDATE … RETURNING` it is atomic:
/// concurrent creations queue on the account row (PostgreSQL) or the write lock (SQLite), so ids
/// are never handed out twice, and a rolled-back creation gives its id back.
async fn next_display_id(db: &impl ConnectionTrait, account_id: i64) -> AppResult<i64> {
    let column = account::Column::LastConversationDisplayId;
    let statement = Query::update()
        .table(account::Entity)
        .value(column, Expr::col(column).add(1))
        .and_where(Expr::col(account::Column::Id).eq(account_id))
        .returning_col(column)
        .to_owned();
    let row = db
        .query_one(&statement)
        .await?
        .ok_or(AppError::NotFound("account"))?;
    Ok(row.try_get::<i64>("", "last_conversation_display_id")?)
}

/// The member to assign, checked to belong to the account.
async fn assignee(
    db: &impl ConnectionTrait,
    account_id: i64,
    assignee_id: Option<i64>,
) -> AppResult<Option<i64>> {
    let Some(user_id) = assignee_id else {
        return Ok(None);
    };
    auth::member(db, account_id, user_id)
        .await?
        .ok_or(AppError::NotFound("assignee"))?;
    Ok(Some(user_id))
}

/// The contact's contact inbox in the inbox: the one with `source_id` when given, else its
/// oldest; created when missing. A source id taken by another contact is CONFLICT.
async fn contact_inbox(
    db: &impl ConnectionTrait,
    contact_id: i64,
    inbox_id: i64,
    source_id: Option<String>,
) -> AppResult<contact_inbox::Model> {
    let mut query = contact_inbox::Entity::find()
        .filter(contact_inbox::Column::InboxId.eq(inbox_id))
        .filter(contact_inbox::Column::ContactId.eq(contact_id));
    if let Some(source_id) = &source_id {
        query = query.filter(contact_inbox::Column::SourceId.eq(source_id.as_str()));
    }
    let existing = query
        .order_by_asc(contact_inbox::Column::Id)
        .one(db)
        .await?;
    match existing {
        Some(row) => Ok(row),
        None => contact_write::insert_contact_inbox(db, contact_id, inbox_id, source_id).await,
    }
}

/// Creates a conversation for a contact in an inbox, with an optional first (outgoing) message
/// from the viewer, in one transaction. A blocked contact's conversation starts resolved.
pub async fn create<C>(
    db: &C,
    viewer: UserViewer,
    input: CreateConversationInput,
) -> AppResult<(conversation::Model, Option<message::Model>)>
where
    C: ConnectionTrait + TransactionTrait,
{
    let account_id = viewer.account_id;
    let contact_id = parse_id("contactId", &input.contact_id)?;
    let inbox_id = parse_id("inboxId", &input.inbox_id)?;
    let assignee_id = input
        .assignee_id
        .as_ref()
        .map(|id| parse_id("assigneeId", id))
        .transpose()?;
    let source_id = validate::optional_string("sourceId", input.source_id.as_deref())?;
    let first_message = input
        .message
        .as_deref()
        .map(|text| messages::content("message", text))
        .transpose()?;

    let contact = contacts::get(db, account_id, contact_id).await?;
    contact_write::inbox_of(db, account_id, inbox_id).await?;
    let assignee_id = assignee(db, account_id, assignee_id).await?;
    let status = if contact.blocked {
        ConversationStatus::Resolved
    } else {
        input.status.into()
    };

    let now = time::now();
    let txn = db.begin().await?;
    // The counter update goes first so that SQLite takes the write lock at once.
    let display_id = next_display_id(&txn, account_id).await?;
    let contact_inbox = contact_inbox(&txn, contact.id, inbox_id, source_id).await?;
    let conversation = conversation::ActiveModel {
        account_id: Set(account_id),
        display_id: Set(display_id),
        inbox_id: Set(inbox_id),
        contact_id: Set(contact.id),
        contact_inbox_id: Set(Some(contact_inbox.id)),
        assignee_id: Set(assignee_id),
        status: Set(status),
        custom_attributes: Set(json!({})),
        additional_attributes: Set(json!({})),
        snoozed_until: Set(None),
        last_activity_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let message = match first_message {
        Some(content) => {
            let new = NewMessage {
                content,
                message_type: MessageType::Outgoing,
                private: false,
                sender: Sender::User(viewer.user_id),
            };
            Some(message_write::insert(&txn, &conversation, new, now).await?)
        }
        None => None,
    };
    txn.commit().await?;
    Ok((conversation, message))
}

/// Sets a conversation's status. Returns the conversation and whether the status changed.
pub async fn set_status(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
    status: ConversationStatus,
) -> AppResult<(conversation::Model, bool)> {
    let current = repo::get(db, account_id, id).await?;
    if current.status == status {
        return Ok((current, false));
    }
    let mut model: conversation::ActiveModel = current.into();
    model.status = Set(status);
    if status != ConversationStatus::Snoozed {
        model.snoozed_until = Set(None);
    }
    model.updated_at = Set(time::now());
    Ok((model.update(db).await?, true))
}

/// Assigns a conversation to a member of the account, or unassigns it (`None`). Returns the
/// conversation and whether the assignee changed.
pub async fn assign(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
    assignee_id: Option<i64>,
) -> AppResult<(conversation::Model, bool)> {
    let current = repo::get(db, account_id, id).await?;
    let assignee_id = assignee(db, account_id, assignee_id).await?;
    if current.assignee_id == assignee_id {
        return Ok((current, false));
    }
    let mut model: conversation::ActiveModel = current.into();
    model.assignee_id = Set(assignee_id);
    model.updated_at = Set(time::now());
    Ok((model.update(db).await?, true))
}

/// Normalised, de-duplicated label names (lower-cased).
fn label_names(labels: &[String]) -> AppResult<BTreeSet<String>> {
    labels
        .iter()
        .map(|label| Ok(validate::name("labels", label)?.to_lowercase()))
        .collect()
}

/// Replaces a conversation's labels, in one transaction. Returns the conversation and whether
/// the set changed.
pub async fn set_labels<C>(
    db: &C,
    account_id: i64,
    id: i64,
    labels: &[String],
    limits: &crate::limits::InputLimits,
) -> AppResult<(conversation::Model, bool)>
where
    C: ConnectionTrait + TransactionTrait,
{
    // The list bounds the rows of the one INSERT below (and its bind parameters).
    limits.list("labels", labels)?;
    let names = label_names(labels)?;
    let current = repo::get(db, account_id, id).await?;
    let txn = db.begin().await?;
    // Delete first (a write) so that SQLite takes the write lock at once.
    let delete = Query::delete()
        .from_table(conversation_label::Entity)
        .and_where(Expr::col(conversation_label::Column::ConversationId).eq(id))
        .returning_col(conversation_label::Column::Name)
        .to_owned();
    let previous = txn
        .query_all(&delete)
        .await?
        .into_iter()
        .map(|row| row.try_get::<String>("", "name"))
        .collect::<Result<BTreeSet<_>, _>>()?;
    if !names.is_empty() {
        let rows = names.iter().map(|name| conversation_label::ActiveModel {
            conversation_id: Set(id),
            name: Set(name.clone()),
            account_id: Set(account_id),
        });
        conversation_label::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    let changed = previous != names;
    let conversation = if changed {
        let mut model: conversation::ActiveModel = current.into();
        model.updated_at = Set(time::now());
        model.update(&txn).await?
    } else {
        current
    };
    txn.commit().await?;
    Ok((conversation, changed))
}
