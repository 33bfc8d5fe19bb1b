//! The error boundary: every error a client sees carries `extensions.code` (api.md "Errors").
//!
//! Domain code returns [`AppError`]; one conversion turns it into a GraphQL error. Internal
//! errors are logged with their cause and censored for clients. Errors raised by the library
//! itself (parse, validation, limits, coercion) get theirs in `executor::Executor`.

use async_graphql::ErrorExtensionValues;
use sea_orm::{DbErr, SqlErr};

/// The fixed set of `extensions.code` values.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// Apollo's code for a persisted-query hash this instance does not know: the client sends
    /// the query with its hash again.
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// A websocket `subscribe` beyond `MAX_SUBSCRIPTIONS_PER_SOCKET` (`ws::connection`).
    pub const TOO_MANY_SUBSCRIPTIONS: &str = "TOO_MANY_SUBSCRIPTIONS";
}

/// An error of the domain, with what the client may know about it.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into an error without
/// a code, so `?` on an `AppError` in a resolver must go through our own conversion below.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(&'static str),
    BadInput {
        field: Option<String>,
        message: String,
    },
    Conflict {
        field: Option<String>,
        message: String,
    },
    /// A condition of a contacts filter is invalid (BAD_USER_INPUT with `conditionIndex`).
    InvalidFilter {
        index: usize,
        key: String,
        message: String,
    },
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

/// The result type of domain functions.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A BAD_USER_INPUT error naming the offending field.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A CONFLICT error naming the offending field.
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The message a client may see (internal errors are censored).
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(message) | Self::Forbidden(message) => message.clone(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::BadInput { message, .. }
            | Self::Conflict { message, .. }
            | Self::InvalidFilter { message, .. } => message.clone(),
            Self::Internal(_) => "Internal server error".to_owned(),
        }
    }

    /// The `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => code::UNAUTHENTICATED,
            Self::Forbidden(_) => code::FORBIDDEN,
            Self::NotFound(_) => code::NOT_FOUND,
            Self::BadInput { .. } | Self::InvalidFilter { .. } => code::BAD_USER_INPUT,
            Self::Conflict { .. } => code::CONFLICT,
            Self::Internal(_) => code::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        Self::Internal(anyhow::Error::new(err))
    }
}

/// Maps a unique violation to CONFLICT on `field`; any other database error stays internal.
pub fn unique_violation(err: DbErr, field: &str, message: &str) -> AppError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::conflict(field, message),
        _ => AppError::from(err),
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let code = err.code();
        let message = err.message();
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", code);
        let field = match err {
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                None
            }
            AppError::BadInput { field, .. } | AppError::Conflict { field, .. } => field,
            AppError::InvalidFilter { index, key, .. } => {
                extensions.set("conditionIndex", index);
                extensions.set("attributeKey", key);
                Some("filter".to_owned())
            }
            _ => None,
        };
        if let Some(field) = field {
            extensions.set("field", field);
        }
        async_graphql::Error {
            message,
            source: None,
            extensions: Some(extensions),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ext(err: AppError) -> async_graphql::Error {
        err.into()
    }

    fn code_of(err: &async_graphql::Error) -> String {
        let value = err
            .extensions
            .as_ref()
            .unwrap()
            .get("code")
            .unwrap()
            .clone();
        value.to_string().trim_matches('"').to_owned()
    }

    #[test]
    fn every_variant_has_its_code() {
        assert_eq!(
            code_of(&ext(AppError::Unauthenticated("x".into()))),
            "UNAUTHENTICATED"
        );
        assert_eq!(code_of(&ext(AppError::Forbidden("x".into()))), "FORBIDDEN");
        assert_eq!(code_of(&ext(AppError::NotFound("contact"))), "NOT_FOUND");
        assert_eq!(
            code_of(&ext(AppError::bad_input("email", "bad"))),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code_of(&ext(AppError::conflict("email", "taken"))),
            "CONFLICT"
        );
    }

    #[test]
    fn internal_errors_are_censored() {
        let err = ext(AppError::Internal(anyhow::anyhow!(
            "password=hunter2 at db.rs:12"
        )));
        assert_eq!(err.message, "Internal server error");
        assert_eq!(code_of(&err), "INTERNAL_SERVER_ERROR");
    }

    #[test]
    fn input_errors_name_the_field() {
        let err = ext(AppError::bad_input("phoneNumber", "must be E.164"));
        let field = err
            .extensions
            .as_ref()
            .unwrap()
            .get("field")
            .unwrap()
            .to_string();
        assert_eq!(field, "\"phoneNumber\"");
        assert_eq!(err.message, "must be E.164");
    }
}
