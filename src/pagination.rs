//! Relay cursor pagination with opaque keyset cursors.
//!
//! A cursor names the sort it came from, the row's sort value and its id, so the next page starts
//! strictly after that row (`WHERE (sort, id) > (v, id)`) instead of at an offset: rows inserted
//! or deleted while a client pages never make it repeat or skip one.

use std::{future::Future, pin::Pin, sync::Arc};

use async_graphql::SimpleObject;
use base64::Engine;
use sea_orm::{Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Page size when neither `first` nor `last` is given (Chatwoot's).
pub const DEFAULT_PAGE_SIZE: u64 = 15;
/// Largest accepted `first` / `last`.
pub const MAX_PAGE_SIZE: u64 = 100;

/// A sort value carried in a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorValue {
    Null,
    Int(i64),
    Text(String),
}

/// The position of a row in one sort order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort the cursor belongs to (a cursor of another sort is refused).
    #[serde(rename = "s")]
    pub sort: String,
    #[serde(rename = "v")]
    pub value: CursorValue,
    #[serde(rename = "i")]
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(field: &str, text: &str, sort: &str) -> AppResult<Self> {
        let invalid = || AppError::bad_input(field, format!("{field} is not a valid cursor"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.sort != sort {
            return Err(AppError::bad_input(
                field,
                format!("{field} belongs to another sort order; start again without a cursor"),
            ));
        }
        Ok(cursor)
    }
}

/// A connection's paging arguments as the client passed them (Relay's `first`, `after`,
/// `last`, `before`); [`PageRequest::new`] validates them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    /// Forward paging only, for connections that take no `last` / `before`.
    pub fn forward(first: Option<i32>, after: Option<String>) -> Self {
        Self {
            first,
            after,
            ..Self::default()
        }
    }
}

/// What a client asked for, validated.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Rows to return.
    pub limit: u64,
    /// Paging backwards (`last` / `before`): read in reverse order, then flip.
    pub backward: bool,
    /// Start strictly after (or, backwards, before) this row.
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// Validates `first`/`after`/`last`/`before` for a sort named `sort`.
    pub fn new(args: PageArgs, sort: &str) -> AppResult<Self> {
        let PageArgs {
            first,
            after,
            last,
            before,
        } = args;
        let size = |field: &str, n: i32| {
            u64::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    AppError::bad_input(
                        field,
                        format!("{field} must be between 1 and {MAX_PAGE_SIZE}"),
                    )
                })
        };
        if first.is_some() && last.is_some() {
            return Err(AppError::bad_input(
                "last",
                "pass either first or last, not both",
            ));
        }
        if after.is_some() && before.is_some() {
            return Err(AppError::bad_input(
                "before",
                "pass either after or before, not both",
            ));
        }
        // A cursor only bounds the side it reads from: `first` with `before` (or `last` with
        // `after`) would otherwise read past the cursor the wrong way.
        if first.is_some() && before.is_some() {
            return Err(AppError::bad_input(
                "before",
                "use before with last (first goes with after)",
            ));
        }
        if last.is_some() && after.is_some() {
            return Err(AppError::bad_input(
                "after",
                "use after with first (last goes with before)",
            ));
        }
        let backward = last.is_some() || before.is_some();
        let limit = match (first, last) {
            (Some(n), _) => size("first", n)?,
            (None, Some(n)) => size("last", n)?,
            (None, None) => DEFAULT_PAGE_SIZE,
        };
        let cursor = match (after, before) {
            (Some(after), _) => Some(Cursor::decode("after", &after, sort)?),
            (None, Some(before)) => Some(Cursor::decode("before", &before, sort)?),
            (None, None) => None,
        };
        Ok(Self {
            limit,
            backward,
            cursor,
        })
    }

    /// The error for a cursor of the right sort whose value does not fit it (the `after` or
    /// `before` it came in is not a valid cursor).
    pub fn invalid_cursor(&self) -> AppError {
        let field = if self.backward { "before" } else { "after" };
        AppError::bad_input(field, format!("{field} is not a valid cursor"))
    }

    /// Turns `limit + 1` fetched rows (in reading order) into a page.
    pub fn finish<N>(&self, mut rows: Vec<(Cursor, N)>, total: TotalCount) -> Page<N> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
        if self.backward {
            rows.reverse();
        }
        let edges: Vec<(String, N)> = rows
            .into_iter()
            .map(|(cursor, node)| (cursor.encode(), node))
            .collect();
        let page_info = PageInfo {
            has_next_page: if self.backward {
                self.cursor.is_some()
            } else {
                more
            },
            has_previous_page: if self.backward {
                more
            } else {
                self.cursor.is_some()
            },
            start_cursor: edges.first().map(|(cursor, _)| cursor.clone()),
            end_cursor: edges.last().map(|(cursor, _)| cursor.clone()),
        };
        Page {
            edges,
            page_info,
            total,
        }
    }
}

/// Counts the whole result, only when a client asks for `totalCount`.
pub type TotalCount =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = AppResult<u64>> + Send>> + Send + Sync>;

/// The [`TotalCount`] of the rows of `E` matching `condition`: the query runs only when called.
pub fn count<E>(db: DatabaseConnection, condition: Condition) -> TotalCount
where
    E: EntityTrait,
    E::Model: Sync,
{
    Arc::new(move || {
        let db = db.clone();
        let condition = condition.clone();
        Box::pin(async move { Ok(E::find().filter(condition).count(&db).await?) })
    })
}

/// Where a page stands in the whole result.
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// Whether rows follow this page.
    pub has_next_page: bool,
    /// Whether rows precede this page.
    pub has_previous_page: bool,
    /// The first row's cursor.
    pub start_cursor: Option<String>,
    /// The last row's cursor.
    pub end_cursor: Option<String>,
}

/// A page of nodes with their cursors, before it becomes a concrete connection type.
pub struct Page<N> {
    pub edges: Vec<(String, N)>,
    pub page_info: PageInfo,
    pub total: TotalCount,
}

/// Declares a Relay connection type and its edge type for a node type.
#[macro_export]
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty) => {
        /// A row and its cursor.
        #[derive(async_graphql::SimpleObject, Clone)]
        pub struct $edge {
            /// Pass as `after` (or `before`) to page from this row.
            pub cursor: String,
            /// The row.
            pub node: $node,
        }

        /// A page of a list (Relay connection).
        #[derive(async_graphql::SimpleObject)]
        #[graphql(complex)]
        pub struct $connection {
            /// The rows with their cursors.
            pub edges: Vec<$edge>,
            /// Where this page stands.
            pub page_info: $crate::pagination::PageInfo,
            #[graphql(skip)]
            pub total: $crate::pagination::TotalCount,
        }

        #[async_graphql::ComplexObject]
        impl $connection {
            /// The rows of this page.
            async fn nodes(&self) -> Vec<$node> {
                self.edges.iter().map(|edge| edge.node.clone()).collect()
            }

            /// How many rows the whole result has (not just this page).
            async fn total_count(&self) -> $crate::error::AppResult<u64> {
                (self.total)().await
            }
        }

        impl From<$crate::pagination::Page<$node>> for $connection {
            fn from(page: $crate::pagination::Page<$node>) -> Self {
                Self {
                    edges: page
                        .edges
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                    page_info: page.page_info,
                    total: page.total,
                }
            }
        }
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        sort: &str,
    ) -> AppResult<PageRequest> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        PageRequest::new(args, sort)
    }

    #[test]
    fn cursors_round_trip_and_stay_in_their_sort() {
        let cursor = Cursor {
            sort: "NAME_ASC".into(),
            value: CursorValue::Text("ann".into()),
            id: 4,
        };
        let page = request(Some(2), Some(cursor.encode()), None, None, "NAME_ASC").unwrap();
        assert_eq!(page.cursor, Some(cursor.clone()));
        assert!(request(None, Some(cursor.encode()), None, None, "NAME_DESC").is_err());
        assert!(request(None, Some("garbage".into()), None, None, "NAME_ASC").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(request(None, None, None, None, "x").unwrap().limit, 15);
        assert!(request(Some(0), None, None, None, "x").is_err());
        assert!(request(Some(101), None, None, None, "x").is_err());
        assert!(request(Some(1), None, Some(1), None, "x").is_err());
        let cursor = Cursor {
            sort: "x".into(),
            value: CursorValue::Null,
            id: 1,
        }
        .encode();
        assert!(request(Some(1), None, None, Some(cursor.clone()), "x").is_err());
        assert!(request(None, Some(cursor.clone()), Some(1), None, "x").is_err());
        assert!(
            request(None, None, None, Some(cursor), "x")
                .unwrap()
                .backward
        );
        let back = request(None, None, Some(5), None, "x").unwrap();
        assert!(back.backward);
        assert_eq!(back.limit, 5);
    }
}
