//! Account-scoped message reads: one message, and pages of a conversation's messages.

use entity::{enums::MessageType, message};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::types::Message;
use crate::{
    db,
    error::{AppError, AppResult},
    pagination::{self, Cursor, CursorValue, Page, PageArgs, PageRequest},
};

/// Longest message, in characters.
pub const MAX_CONTENT: usize = 150_000;

/// Message text: required (not blank), at most [`MAX_CONTENT`] characters, kept as written.
pub fn content(field: &str, value: &str) -> AppResult<String> {
    crate::validate::no_nul(field, value)?;
    if value.trim().is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > MAX_CONTENT {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be at most {MAX_CONTENT} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// One message of the account.
pub async fn find(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
) -> AppResult<Option<message::Model>> {
    Ok(db::find_in_account(db, message::Column::AccountId, account_id, id).await?)
}

/// One message of the account, or NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, account_id: i64, id: i64) -> AppResult<message::Model> {
    find(db, account_id, id)
        .await?
        .ok_or(AppError::NotFound("message"))
}

/// Which of a conversation's messages a page reads.
#[derive(Debug, Clone, Copy)]
pub struct MessageScope {
    pub account_id: i64,
    pub conversation_id: i64,
    /// Only what the contact may see: no private notes, no activity messages (docs/design.md §5).
    pub contact_view: bool,
}

impl MessageScope {
    fn condition(self) -> Condition {
        let mut cond = Condition::all()
            .add(message::Column::AccountId.eq(self.account_id))
            .add(message::Column::ConversationId.eq(self.conversation_id));
        if self.contact_view {
            cond = cond
                .add(message::Column::Private.eq(false))
                .add(message::Column::MessageType.ne(MessageType::Activity));
        }
        cond
    }
}

const SORT: &str = "messages:id:asc";

/// A page of a conversation's messages in the order they were sent (newest last). `last`
/// without a cursor gives the newest messages.
pub async fn page(
    db: DatabaseConnection,
    scope: MessageScope,
    args: PageArgs,
) -> AppResult<Page<Message>> {
    let request = PageRequest::new(args, SORT)?;
    let base = scope.condition();
    let mut query = message::Entity::find().filter(base.clone());
    if let Some(cursor) = &request.cursor {
        // Ids only grow, so the id alone is the keyset.
        query = query.filter(if request.backward {
            message::Column::Id.lt(cursor.id)
        } else {
            message::Column::Id.gt(cursor.id)
        });
    }
    query = if request.backward {
        query.order_by_desc(message::Column::Id)
    } else {
        query.order_by_asc(message::Column::Id)
    };
    let rows = query.limit(request.limit + 1).all(&db).await?;
    let rows = rows
        .into_iter()
        .map(|row| {
            let cursor = Cursor {
                sort: SORT.to_owned(),
                value: CursorValue::Null,
                id: row.id,
            };
            (cursor, Message(row))
        })
        .collect();
    let total = pagination::count::<message::Entity>(db, base);
    Ok(request.finish(rows, total))
}
