//! Account-scoped contact reads: one contact, and pages of contacts in any sort order.

use chrono::{DateTime, Utc};
use entity::{contact, contact_label};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    FromQueryResult, QueryFilter, QueryResult, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, NullOrdering, Order, Query, SimpleExpr},
};

use super::types::{Contact, ContactSort, ContactSortField, SortDirection};
use crate::{
    db,
    error::{AppError, AppResult},
    pagination::{self, Cursor, CursorValue, Page, PageArgs, PageRequest},
};

/// One contact of the account (resolved or not).
pub async fn find(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
) -> AppResult<Option<contact::Model>> {
    Ok(db::find_in_account(db, contact::Column::AccountId, account_id, id).await?)
}

/// One contact of the account, or NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, account_id: i64, id: i64) -> AppResult<contact::Model> {
    find(db, account_id, id)
        .await?
        .ok_or(AppError::NotFound("contact"))
}

/// Resolved contacts: those with an email, a phone number or an identifier.
pub fn resolved() -> Condition {
    Condition::any()
        .add(contact::Column::Email.is_not_null())
        .add(contact::Column::PhoneNumber.is_not_null())
        .add(contact::Column::Identifier.is_not_null())
}

/// Contacts having any of the labels.
pub fn any_label(labels: &[String]) -> SimpleExpr {
    let names: Vec<String> = labels.iter().map(|l| l.trim().to_lowercase()).collect();
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(contact_label::Entity)
            .and_where(
                Expr::col((contact_label::Entity, contact_label::Column::ContactId))
                    .equals((contact::Entity, contact::Column::Id)),
            )
            .and_where(Expr::col((contact_label::Entity, contact_label::Column::Name)).is_in(names))
            .to_owned(),
    )
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The search of docs/design.md §5: a case-insensitive substring of name, email, phone number and
/// company name, or a case-sensitive substring of the identifier.
pub fn search(query: &str, backend: DbBackend) -> AppResult<Condition> {
    let query = query.trim();
    if query.is_empty() {
        return Err(AppError::bad_input("query", "query must not be empty"));
    }
    let pattern = format!("%{}%", like_escape(&query.to_lowercase()));
    // Built from SeaQuery functions, not custom SQL with `?` marks: PostgreSQL's query builder
    // only substitutes `$n` in custom SQL, so `?` would reach the database verbatim.
    let like = |expr: SimpleExpr| expr.like(LikeExpr::new(pattern.clone()).escape('\\'));
    let lower = |expr: SimpleExpr| -> SimpleExpr { Func::lower(expr).into() };
    // The identifier matches case-sensitively (docs/design.md §5). PostgreSQL's LIKE does, and its
    // trigram index serves it (`strpos()` can use no index and left the whole search to a
    // sequential scan); SQLite's LIKE ignores case, so it keeps `instr()`.
    let identifier_col = Expr::col((contact::Entity, contact::Column::Identifier));
    let identifier = match backend {
        DbBackend::Postgres => {
            identifier_col.like(LikeExpr::new(format!("%{}%", like_escape(query))).escape('\\'))
        }
        _ => SimpleExpr::from(Func::cust("instr").arg(identifier_col).arg(query)).gt(0),
    };
    Ok(Condition::any()
        .add(like(lower(Expr::col((
            contact::Entity,
            contact::Column::Name,
        )))))
        .add(like(Expr::col((contact::Entity, contact::Column::Email))))
        .add(like(Expr::col((
            contact::Entity,
            contact::Column::PhoneNumber,
        ))))
        .add(like(lower(attribute("company_name"))))
        .add(identifier))
}

/// A well-known text key of `additional_attributes` (a constant, never client input).
fn attribute(key: &'static str) -> SimpleExpr {
    Expr::cust(format!(
        "(\"contacts\".\"additional_attributes\" ->> '{key}')"
    ))
}

/// The sort expression of a field; text sorts ignore case. A blank well-known attribute (`""`,
/// as an import or an API client may store it) has no value, like a missing one: it sorts last
/// with the nulls instead of first (docs/design.md §5), as `location` and the filter's IS_PRESENT also
/// treat it.
fn sort_expr(field: ContactSortField) -> SimpleExpr {
    let lower = |expr: SimpleExpr| -> SimpleExpr { Func::lower(expr).into() };
    let text = |key: &'static str| -> SimpleExpr {
        Func::cust("NULLIF")
            .arg(Func::cust("trim").arg(Func::lower(attribute(key))))
            .arg("")
            .into()
    };
    let col = |c: contact::Column| -> SimpleExpr { Expr::col((contact::Entity, c)) };
    match field {
        ContactSortField::Name => lower(col(contact::Column::Name)),
        ContactSortField::Email => col(contact::Column::Email),
        ContactSortField::PhoneNumber => col(contact::Column::PhoneNumber),
        ContactSortField::LastActivityAt => col(contact::Column::LastActivityAt),
        ContactSortField::CreatedAt => col(contact::Column::CreatedAt),
        ContactSortField::Company => text("company_name"),
        ContactSortField::City => text("city"),
        ContactSortField::Country => text("country"),
    }
}

fn is_time(field: ContactSortField) -> bool {
    matches!(
        field,
        ContactSortField::LastActivityAt | ContactSortField::CreatedAt
    )
}

/// The default order: most recently active first, then newest id (docs/design.md §5).
const DEFAULT_SORT: ContactSort = ContactSort {
    field: ContactSortField::LastActivityAt,
    direction: SortDirection::Desc,
};

/// A contact with the value it sorts by, read from the database itself so that the cursor
/// compares exactly as the database orders (SQLite's `lower()` folds only ASCII).
struct Keyed {
    contact: contact::Model,
    key: Option<String>,
}

impl FromQueryResult for Keyed {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            contact: contact::Model::from_query_result(res, pre)?,
            key: res.try_get(pre, "sort_key")?,
        })
    }
}

fn time_value(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// Rows strictly after (or before, paging backwards) the cursor in the sort order, where the
/// order is `expr` with nulls last, then id, both in `direction`.
fn keyset(
    expr: &SimpleExpr,
    time: bool,
    ascending: bool,
    request: &PageRequest,
    cursor: &Cursor,
) -> AppResult<Condition> {
    let backward = request.backward;
    let id = Expr::col((contact::Entity, contact::Column::Id));
    let value: Option<SimpleExpr> = match (&cursor.value, time) {
        (CursorValue::Null, _) => None,
        (CursorValue::Int(micros), true) => Some(Expr::val(time_value(*micros))),
        (CursorValue::Text(text), false) => Some(Expr::val(text.clone())),
        _ => return Err(request.invalid_cursor()),
    };
    // Moving towards larger values is "forward in an ascending sort" or "backward in a
    // descending one"; nulls sit at the end of the forward order.
    let larger = ascending != backward;
    let beyond = |e: SimpleExpr, v: SimpleExpr| if larger { e.gt(v) } else { e.lt(v) };
    let id_beyond = if larger {
        id.gt(cursor.id)
    } else {
        id.lt(cursor.id)
    };
    Ok(match (value, backward) {
        (Some(v), false) => Condition::any()
            .add(beyond(expr.clone(), v.clone()))
            .add(Condition::all().add(expr.clone().eq(v)).add(id_beyond))
            .add(expr.clone().is_null()),
        (Some(v), true) => Condition::any()
            .add(beyond(expr.clone(), v.clone()))
            .add(Condition::all().add(expr.clone().eq(v)).add(id_beyond)),
        (None, false) => Condition::all().add(expr.clone().is_null()).add(id_beyond),
        (None, true) => Condition::any()
            .add(expr.clone().is_not_null())
            .add(Condition::all().add(expr.clone().is_null()).add(id_beyond)),
    })
}

/// A page of the account's contacts matching `condition`, in `sort` order.
pub async fn page(
    db: DatabaseConnection,
    account_id: i64,
    condition: Condition,
    sort: Option<ContactSort>,
    args: PageArgs,
) -> AppResult<Page<Contact>> {
    let sort = sort.unwrap_or(DEFAULT_SORT);
    let ascending = sort.direction == SortDirection::Asc;
    let sort_name = format!("contacts:{:?}:{:?}", sort.field, sort.direction);
    let request = PageRequest::new(args, &sort_name)?;
    let base = Condition::all()
        .add(contact::Column::AccountId.eq(account_id))
        .add(condition);
    let expr = sort_expr(sort.field);
    let time = is_time(sort.field);

    let mut query = contact::Entity::find().filter(base.clone());
    if let Some(cursor) = &request.cursor {
        query = query.filter(keyset(&expr, time, ascending, &request, cursor)?);
    }
    // Reading backwards reverses the whole order, nulls included.
    let (order, nulls) = match (ascending != request.backward, request.backward) {
        (true, false) => (Order::Asc, NullOrdering::Last),
        (false, false) => (Order::Desc, NullOrdering::Last),
        (true, true) => (Order::Asc, NullOrdering::First),
        (false, true) => (Order::Desc, NullOrdering::First),
    };
    let key_expr = if time {
        Expr::val(Option::<String>::None)
    } else {
        expr.clone()
    };
    let mut select = query.column_as(key_expr, "sort_key");
    QueryTrait::query(&mut select)
        .order_by_expr_with_nulls(expr, order.clone(), nulls)
        .order_by((contact::Entity, contact::Column::Id), order);
    let rows = select
        .limit(request.limit + 1)
        .into_model::<Keyed>()
        .all(&db)
        .await?;

    let rows = rows
        .into_iter()
        .map(|Keyed { contact, key }| {
            let value = if time {
                let at = match sort.field {
                    ContactSortField::CreatedAt => Some(contact.created_at),
                    _ => contact.last_activity_at,
                };
                at.map_or(CursorValue::Null, |at| {
                    CursorValue::Int(at.timestamp_micros())
                })
            } else {
                key.map_or(CursorValue::Null, CursorValue::Text)
            };
            (
                Cursor {
                    sort: sort_name.clone(),
                    value,
                    id: contact.id,
                },
                Contact(contact),
            )
        })
        .collect();
    let total = pagination::count::<contact::Entity>(db, base);
    Ok(request.finish(rows, total))
}
