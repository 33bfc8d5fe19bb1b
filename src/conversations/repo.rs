//! Account-scoped conversation queries.

use std::sync::Arc;

use entity::{conversation, enums::ConversationStatus};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::types::Conversation;
use crate::{
    app::AppState,
    error::AppResult,
    pagination::{Cursor, CursorValue, Page, PageRequest},
};

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
    state: Arc<AppState>,
    account_id: i64,
    filter: ConversationFilter,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> AppResult<Page<Conversation>> {
    let request = PageRequest::new(first, after, last, before, SORT)?;
    let base = filter.condition(account_id);
    let mut query = conversation::Entity::find().filter(base.clone());
    if let Some(cursor) = &request.cursor {
        let CursorValue::Int(micros) = cursor.value else {
            return Err(crate::error::AppError::bad_input(
                "after",
                "after is not a valid cursor",
            ));
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
    let rows = query.limit(request.limit + 1).all(&state.db).await?;
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
    let total = Arc::new(move || {
        let state = state.clone();
        let base = base.clone();
        Box::pin(async move {
            Ok(conversation::Entity::find()
                .filter(base)
                .count(&state.db)
                .await?)
        }) as _
    });
    Ok(request.finish(rows, total))
}
