//! GraphQL `ID`s are record ids as strings.

use async_graphql::ID;

use crate::error::{AppError, AppResult};

/// Parses an `ID` argument; a malformed one is BAD_USER_INPUT naming the argument.
pub fn parse_id(field: &str, id: &ID) -> AppResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::bad_input(field, format!("{field} is not a valid id")))
}
