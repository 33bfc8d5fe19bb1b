//! Account-scoped conversation queries.

use entity::{contact_inbox, conversation, enums::ConversationStatus, inbox};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait, sea_query::JoinType,
};

use super::types::Conversation;
use crate::{
    auth::viewer::{ContactViewer, Viewer},
    db,
    error::{AppError, AppResult},
    events::Sender,
    pagination::{self, Cursor, CursorValue, Page, PageArgs, PageRequest},
};

/// One conversation of the account.
pub async fn find(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
) -> AppResult<Option<conversation::Model>> {
    Ok(db::find_in_account(db, conversation::Column::AccountId, account_id, id).await?)
}

/// One conversation of the account, or NOT_FOUND.
pub async fn get(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
) -> AppResult<conversation::Model> {
    find(db, account_id, id)
        .await?
        .ok_or(AppError::NotFound("conversation"))
}

/// A conversation the viewer may post and type in: any of a member's account, or, for a contact
/// token, one of its own contact inbox. Anything else is NOT_FOUND.
pub async fn accessible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> AppResult<conversation::Model> {
    let conversation = get(db, viewer.account_id(), id).await?;
    match viewer {
        Viewer::User(_) => Ok(conversation),
        Viewer::Contact(contact)
            if conversation.contact_inbox_id == Some(contact.contact_inbox_id) =>
        {
            Ok(conversation)
        }
        Viewer::Contact(_) => Err(AppError::NotFound("conversation")),
    }
}

/// Who the viewer speaks as in a conversation. A contact speaks as the conversation's contact,
/// which is the contact inbox's current owner even if a merge moved it since the token was
/// issued.
pub fn sender(viewer: &Viewer, conversation: &conversation::Model) -> Sender {
    match viewer {
        Viewer::User(user) => Sender::User(user.user_id),
        Viewer::Contact(_) => Sender::Contact(conversation.contact_id),
    }
}

/// The widget identity of a contact inbox of the account, or NOT_FOUND.
pub async fn contact_viewer(
    db: &impl ConnectionTrait,
    account_id: i64,
    contact_inbox_id: i64,
) -> AppResult<ContactViewer> {
    let row = contact_inbox::Entity::find_by_id(contact_inbox_id)
        .join(JoinType::InnerJoin, contact_inbox::Relation::Inbox.def())
        .filter(inbox::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("contact inbox"))?;
    Ok(ContactViewer {
        contact_id: row.contact_id,
        contact_inbox_id: row.id,
        account_id,
    })
}

/// Which conversations to list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub contact_id: Option<i64>,
    pub inbox_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: Option<ConversationStatus>,
}

impl ConversationFilter {
    fn condition(&self, account_id: i64) -> Condition {
        let mut cond = Condition::all().add(conversation::Column::AccountId.eq(account_id));
        if let Some(id) = self.contact_id {
            cond = cond.add(conversation::Column::ContactId.eq(id));
        }
        if let Some(id) = self.inbox_id {
            cond = cond.add(conversation::Column::InboxId.eq(id));
        }
        if let Some(id) = self.assignee_id {
            cond = cond.add(conversation::Column::AssigneeId.eq(id));
        }
        if let Some(status) = self.status {
            cond = cond.add(conversation::Column::Status.eq(status));
        }
        cond
    }
}

const SORT: &str = "conversations:last_activity_at:desc";

/// A page of conversations, most recently active first (ties: newest id first).
pub async fn page(
    db: DatabaseConnection,
    account_id: i64,
    filter: ConversationFilter,
    args: PageArgs,
) -> AppResult<Page<Conversation>> {
    let request = PageRequest::new(args, SORT)?;
    let base = filter.condition(account_id);
    let mut query = conversation::Entity::find().filter(base.clone());
    if let Some(cursor) = &request.cursor {
        let CursorValue::Int(micros) = cursor.value else {
            return Err(request.invalid_cursor());
        };
        let at = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
        let (col, id) = (
            conversation::Column::LastActivityAt,
            conversation::Column::Id,
        );
        // Descending order: rows after the cursor are older (or the same time with a lower id).
        query = query.filter(if request.backward {
            Condition::any()
                .add(col.gt(at))
                .add(Condition::all().add(col.eq(at)).add(id.gt(cursor.id)))
        } else {
            Condition::any()
                .add(col.lt(at))
                .add(Condition::all().add(col.eq(at)).add(id.lt(cursor.id)))
        });
    }
    query = if request.backward {
        query
            .order_by_asc(conversation::Column::LastActivityAt)
            .order_by_asc(conversation::Column::Id)
    } else {
        query
            .order_by_desc(conversation::Column::LastActivityAt)
            .order_by_desc(conversation::Column::Id)
    };
    let rows = query.limit(request.limit + 1).all(&db).await?;
    let rows = rows
        .into_iter()
        .map(|row| {
            let cursor = Cursor {
                sort: SORT.to_owned(),
                value: CursorValue::Int(row.last_activity_at.timestamp_micros()),
                id: row.id,
            };
            (cursor, Conversation(row))
        })
        .collect();
    let total = pagination::count::<conversation::Entity>(db, base);
    Ok(request.finish(rows, total))
}
