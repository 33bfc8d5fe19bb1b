//! The error boundary: every error a client sees carries `extensions.code` (docs/design.md §6).
//!
//! Domain code and resolvers return [`AppError`] ([`AppResult`]); one conversion turns it into
//! a GraphQL error. Internal errors are logged with their cause and censored for clients. Errors
//! raised by the library itself (parse, validation, limits, coercion) get theirs in
//! `executor::Executor`, which also codes anything left uncoded as an internal error.
//!
//! Resolvers are typed, so the boundary holds by construction: a `?` on an error that has no
//! conversion into [`AppError`] does not compile, and async-graphql's blanket conversion of any
//! `Display` type into an uncoded error never applies (`AppError` is not `Display`). How a
//! resolver spells it:
//! - object and complex-object fields return `AppResult<T>`: async-graphql resolves it as the
//!   output type `Result<T, AppError>`, which needs `AppError: Clone` (hence the `Arc` in
//!   [`AppError::Internal`]);
//! - subscription fields return `Result<impl Stream<Item = T>, AppError>`: the `Subscription`
//!   macro finds the stream type only inside a type spelled `Result<…>`.

use std::sync::Arc;

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
    /// A subscription's `after` position is older than the history kept (or of a history that
    /// was lost): refetch by query, then subscribe without `after` (`realtime::gate`).
    pub const HISTORY_EXPIRED: &str = "HISTORY_EXPIRED";

    // HTTP-level codes: the request was refused before it reached the executor (src/http.rs);
    // each goes with the HTTP status of the same name.
    /// 400: not a GraphQL-over-HTTP request (bad JSON, no query, a malformed multipart body).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// 413: a body, `operations`/`map` part or file above its limit.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// 415: neither JSON nor multipart.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    /// 405: a mutation or subscription sent by GET.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// 503 with `Retry-After`: `MAX_CONCURRENT_UPLOADS` uploads are already being read.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
}

/// An error of the domain, with what the client may know about it.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into an error without
/// a code, so `?` on an `AppError` in a resolver must go through our own conversion below.
#[derive(Debug, Clone)]
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
    /// The events after a subscription's `after` position are no longer kept.
    HistoryExpired,
    /// A dependency (the event history on Redis) did not answer in time; retry later.
    Unavailable(&'static str),
    /// Anything the client did not cause: logged with its cause, censored for clients. Shared,
    /// because async-graphql clones a field's error when it resolves it.
    Internal(Arc<anyhow::Error>),
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(Arc::new(err))
    }
}

/// The result type of domain functions and resolvers. A `?` on an error with no conversion into
/// [`AppError`] does not compile, so nothing reaches a client uncoded:
///
/// ```compile_fail
/// # use switchboard::error::AppResult;
/// fn limit(text: &str) -> AppResult<i32> {
///     Ok(text.parse::<i32>()?) // ParseIntError: say which input was wrong instead
/// }
/// ```
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An internal error with its cause (logged, never shown to clients).
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::from(cause.into())
    }

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
            Self::HistoryExpired => "the events after this position are no longer kept; \
                 refetch by query, then subscribe without `after`"
                .to_owned(),
            Self::Unavailable(what) => format!("{what} is unavailable; try again"),
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
            Self::HistoryExpired => code::HISTORY_EXPIRED,
            Self::Unavailable(_) => code::SERVICE_UNAVAILABLE,
            Self::Internal(_) => code::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        Self::internal(err)
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
        assert_eq!(code_of(&ext(AppError::HistoryExpired)), "HISTORY_EXPIRED");
        assert_eq!(
            code_of(&ext(AppError::Unavailable("the event history"))),
            "SERVICE_UNAVAILABLE"
        );
    }

    #[test]
    fn internal_errors_are_censored() {
        let err = ext(AppError::from(anyhow::anyhow!(
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

    /// The boundary stays typed: no module imports async-graphql's untyped `Result` (or
    /// `FieldResult`), through which a resolver could let any `Display` error out uncoded.
    #[test]
    fn resolvers_do_not_use_the_untyped_result() {
        // This file names the patterns. `Guard::check` (src/auth/guard.rs) must return the
        // library's `Result`, though its errors come from `AppError`; the rest of src/auth/ is
        // converted separately, after which only that file needs the exemption.
        const EXEMPT: [&str; 2] = ["src/error.rs", "src/auth/"];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut pending = vec![root.join("src")];
        let mut offenders = Vec::new();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if EXEMPT.iter().any(|prefix| relative.starts_with(prefix)) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let untyped = text.contains("async_graphql::Result")
                    || text.contains("FieldResult")
                    || text.split("use async_graphql::{").skip(1).any(|list| {
                        let list = list.split('}').next().unwrap_or_default();
                        list.split(',').any(|item| item.trim() == "Result")
                    });
                if untyped {
                    offenders.push(relative);
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "resolvers return AppResult / Result<_, AppError>: {offenders:?}"
        );
    }
}
